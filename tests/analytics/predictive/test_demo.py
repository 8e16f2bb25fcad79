"""seed_demo trains the demo's purchase_14d model on the demo people's purchase history."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from analytics.models import PredictiveModel, PredictiveStatus
from segments.models import Profile

pytestmark = pytest.mark.django_db


def test_demo_trains_and_enables_purchase_14d():
    call_command("seed_demo", "--no-admin")
    model = PredictiveModel.objects.get(name="purchase_14d")
    assert model.status == PredictiveStatus.READY, model.status_detail
    version = model.versions.get()
    assert version.auc > 0.5 and version.baseline_auc is not None
    assert model.enabled
    assert Profile.objects.filter(traits__predicted__has_key="purchase_14d").count() > 1000
