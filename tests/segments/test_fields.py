import pytest
from django.core.exceptions import ValidationError

from segments.criteria import BUILTIN_FIELDS
from segments.models import Field
from segments.selectors.catalog import builtin_field_specs, site_field_catalog
from segments.services.fields import field_catalog_seed, field_create, field_delete, field_update
from segments.services.segments import segment_create
from tenancy.services import site_create

pytestmark = pytest.mark.django_db


def test_new_site_gets_the_builtin_catalog():
    site = site_create(name="Gamma", slug="gamma")
    paths = set(Field.objects.filter(site=site, builtin=True).values_list("path", flat=True))
    assert paths == set(BUILTIN_FIELDS)
    age = Field.objects.get(site=site, path="profile.age")
    assert age.type == "number" and age.label


def test_seed_is_idempotent_and_fills_gaps(site):
    assert field_catalog_seed(site=site) == len(BUILTIN_FIELDS)
    assert field_catalog_seed(site=site) == 0
    Field.objects.filter(site=site, path="profile.city").delete()
    assert field_catalog_seed(site=site) == 1
    assert Field.objects.filter(site=site).count() == len(BUILTIN_FIELDS)


def test_seeded_enum_keeps_allowed_values(site):
    field_catalog_seed(site=site)
    gender = Field.objects.get(site=site, path="profile.gender")
    assert gender.type == "enum" and "female" in gender.allowed_values


def test_catalog_of_unseeded_site_still_has_builtins(site):
    catalog = {f.path: f.type for f in site_field_catalog(site=site)}
    assert catalog["profile.age"] == "number"


def test_create_custom_field(site):
    field = field_create(site=site, path="profile.balance", type="number", label="Balance")
    assert not field.builtin and field.type == "number"
    assert "profile.balance" in {f.path for f in site_field_catalog(site=site)}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("balance", "starts with"),
        ("visitor.thing", "starts with"),
        ("profile.", "letters"),
        ("profile.bad key", "letters"),
        ("profile.age", "built-in"),
    ],
)
def test_create_rejects_bad_paths(site, path, message):
    with pytest.raises(ValidationError) as info:
        field_create(site=site, path=path, type="string")
    assert message in str(info.value.message_dict["path"])


def test_create_rejects_duplicate_and_bad_type(site):
    field_create(site=site, path="context.store_id", type="string")
    with pytest.raises(ValidationError, match="already has"):
        field_create(site=site, path="context.store_id", type="string")
    with pytest.raises(ValidationError, match="not a field type"):
        field_create(site=site, path="context.other", type="colour")


def test_enum_needs_allowed_values(site):
    with pytest.raises(ValidationError, match="at least one"):
        field_create(site=site, path="profile.plan", type="enum")
    with pytest.raises(ValidationError, match="listed twice"):
        field_create(site=site, path="profile.plan", type="enum", allowed_values=["a", "A"])
    with pytest.raises(ValidationError, match="Only enum and list"):
        field_create(site=site, path="profile.n", type="number", allowed_values=["1"])
    plan = field_create(site=site, path="profile.plan", type="enum", allowed_values=["free", "pro"])
    assert plan.allowed_values == ["free", "pro"]


def test_builtins_cannot_be_deleted_or_retyped(site):
    field_catalog_seed(site=site)
    age = Field.objects.get(site=site, path="profile.age")
    with pytest.raises(ValidationError, match="cannot be changed"):
        field_update(field=age, type="string")
    with pytest.raises(ValidationError, match="cannot be deleted"):
        field_delete(field=age)
    field_update(field=age, label="Age (years)")
    age.refresh_from_db()
    assert age.label == "Age (years)" and age.type == "number"


def test_field_in_use_cannot_be_deleted_or_retyped(site):
    balance = field_create(site=site, path="profile.balance", type="number")
    segment_create(
        site=site,
        key="rich",
        name="Rich",
        criteria={"all": [{"field": "profile.balance", "op": "gte", "value": 5}]},
    )
    with pytest.raises(ValidationError, match="rich"):
        field_delete(field=balance)
    with pytest.raises(ValidationError, match="rich"):
        field_update(field=balance, type="string")


def test_field_used_deep_in_a_tree_is_in_use(site):
    plan = field_create(site=site, path="context.plan", type="string")
    segment_create(
        site=site,
        key="deep",
        name="Deep",
        criteria={"none": [{"any": [{"field": "context.plan", "op": "eq", "value": "pro"}]}]},
    )
    with pytest.raises(ValidationError, match="deep"):
        field_delete(field=plan)


def test_builtin_field_specs_mirror_the_engine_catalog():
    specs = {s["path"]: s for s in builtin_field_specs()}
    assert set(specs) == set(BUILTIN_FIELDS)
    for path, spec in BUILTIN_FIELDS.items():
        assert specs[path] == {"path": path, **spec}


def test_unused_custom_field_is_deleted(site):
    field = field_create(site=site, path="profile.tmp", type="boolean")
    field_delete(field=field)
    assert not Field.objects.filter(pk=field.pk).exists()


def test_data_migration_seeds_existing_sites(site):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("segments.migrations.0004_seed_builtin_fields")
    migration.seed_builtin_fields(apps, None)
    migration.seed_builtin_fields(apps, None)  # idempotent
    assert Field.objects.filter(site=site, builtin=True).count() == len(BUILTIN_FIELDS)
