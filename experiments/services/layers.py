"""Writes of layers: a layer's seed decides who lands in which experiment of the layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from experiments.models import Layer
from tenancy.models import Site
from tenancy.services import site_config_bump

LAYER_FIELDS = ("key", "name", "seed", "description")


def _save(layer: Layer) -> Layer:
    if not layer.seed:
        layer.seed = layer.key
    layer.full_clean()
    with transaction.atomic():
        layer.save()
        site_config_bump(site_id=layer.site_id)
    return layer


def layer_create(
    *, site: Site, key: str, name: str, seed: str = "", description: str = ""
) -> Layer:
    return _save(Layer(site=site, key=key, name=name, seed=seed, description=description))


def layer_update(*, layer: Layer, data: Mapping[str, Any]) -> Layer:
    """Change fields. Changing the seed of a layer with live experiments reshuffles their
    visitors, so it is refused while any of them runs or is paused."""
    unknown = set(data) - set(LAYER_FIELDS)
    if unknown:
        raise TypeError(f"unknown layer fields {sorted(unknown)}")
    if (
        "seed" in data
        and data["seed"] != layer.seed
        and layer.experiments.filter(status__in=("running", "paused")).exists()
    ):
        raise ValidationError(
            {"seed": "Experiments of this layer are live: changing the seed would move visitors."}
        )
    for name, value in data.items():
        setattr(layer, name, value)
    return _save(layer)


def layer_delete(*, layer: Layer) -> None:
    """Delete a layer that no experiment uses (the database refuses otherwise)."""
    if layer.experiments.exists():
        raise ValidationError("Experiments use this layer: move or delete them first.")
    site_id = layer.site_id
    with transaction.atomic():
        layer.delete()
        site_config_bump(site_id=site_id)
