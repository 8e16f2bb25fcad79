"""Experiments in the admin (minimal registration; the setup pages grow in later commits)."""

from __future__ import annotations

from django.contrib import admin

from experiments.models import Experiment, GlobalHoldout, Layer
from tenancy.admin_scoping import ScopedModelAdmin
from tenancy.roles import Perm


@admin.register(Layer)
class LayerAdmin(ScopedModelAdmin):
    write_perm = Perm.MANAGE_EXPERIMENTS
    list_display = ("name", "key", "site")


@admin.register(Experiment)
class ExperimentAdmin(ScopedModelAdmin):
    write_perm = Perm.MANAGE_EXPERIMENTS
    list_display = ("name", "key", "status", "site")


@admin.register(GlobalHoldout)
class GlobalHoldoutAdmin(ScopedModelAdmin):
    write_perm = Perm.MANAGE_EXPERIMENTS
    list_display = ("site", "enabled", "share")
