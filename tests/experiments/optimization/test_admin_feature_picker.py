"""The feature picker of the optimization setup page: rows of kind / field / segment / event
become the stored JSON list, a bad row is an error on that row (nothing saved, never a 500),
stored features show as rows, the raw JSON still works (and wins when only it was edited),
a started optimization's features are read-only rows, and a viewer cannot change them."""

from __future__ import annotations

import json

import pytest

from experiments.models import Optimization
from experiments.services.optimization import optimization_start
from tenancy.roles import Role
from tenancy.services import role_grant
from tests.content.factories import SegmentFactory
from tests.experiments.optimization.conftest import FEATURES, make_optimization
from tests.experiments.optimization.test_admin_setup_optimization import (
    ADD,
    change_url,
    login,
    setup_post,
)
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

EMPTY_ROW = {"kind": "", "field": "", "segment": "", "event": "", "within_days": "", "top_k": "10"}


@pytest.fixture
def marketer(site):
    return login(user_with_role(site, Role.MARKETER, username="marketer"))


def with_rows(data: dict, rows: list[dict], *, initial: int = 0, extra: int = 1) -> dict:
    """`data` plus the picker's rows (each a partial row; `extra` empty rows after them)."""
    rows = [{**EMPTY_ROW, **row} for row in rows] + [dict(EMPTY_ROW)] * extra
    data = {
        **data,
        "feature_rows-TOTAL_FORMS": str(len(rows)),
        "feature_rows-INITIAL_FORMS": str(initial),
    }
    for i, row in enumerate(rows):
        for name, value in row.items():
            if name == "DELETE":
                if value:
                    data[f"feature_rows-{i}-DELETE"] = "on"
            else:
                data[f"feature_rows-{i}-{name}"] = value
    return data


def row_errors(page: str, index: int) -> str:
    """The HTML of row `index` of the picker, with its error row if any."""
    html = ""
    for marker in (f'id="pz-feature-row-{index}-errors"', f'id="pz-feature-row-{index}"'):
        if marker in page:
            html += page.split(marker)[1].split("</tr>")[0]
    return html


def test_two_rows_become_the_stored_json(site, placement, metric, marketer):
    page = marketer.get(ADD).content.decode()
    assert "What the model may read" in page and "Advanced: edit as JSON" in page
    assert '<option value="context.device_type">' in page
    data = setup_post(site, placement, metric, features="[]")
    data = with_rows(
        data, [{"kind": "category", "field": "context.device_type"}, {"kind": "hour"}], extra=2
    )
    r = marketer.post(ADD, data)
    assert r.status_code == 302, r.content.decode()[:3000]
    assert Optimization.objects.get().features == [
        {"kind": "category", "field": "context.device_type", "top_k": 10},
        {"kind": "hour", "field": "context.local_time"},
    ]


def test_every_kind_keeps_only_its_own_inputs(site, placement, metric, marketer):
    SegmentFactory(site=site, key="loyal")
    rows = [
        {"kind": "number", "field": "profile.age", "top_k": "3", "event": "x"},
        {"kind": "flag", "field": "visitor.is_known"},
        {"kind": "segment", "segment": "loyal", "field": "profile.age"},
        {"kind": "weekday"},
        {"kind": "recency"},
        {"kind": "recency", "event": "purchase"},
        {"kind": "frequency", "event": "purchase", "within_days": "30"},
        {"kind": "category", "field": "profile.city", "top_k": "5", "within_days": "7"},
    ]
    data = with_rows(setup_post(site, placement, metric, features="[]"), rows)
    assert marketer.post(ADD, data).status_code == 302
    assert Optimization.objects.get().features == [
        {"kind": "number", "field": "profile.age"},
        {"kind": "flag", "field": "visitor.is_known"},
        {"kind": "segment", "segment": "loyal"},
        {"kind": "weekday", "field": "context.local_time"},
        {"kind": "recency"},
        {"kind": "recency", "event": "purchase"},
        {"kind": "frequency", "event": "purchase", "within_days": 30},
        {"kind": "category", "field": "profile.city", "top_k": 5},
    ]


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        ({"kind": "category", "field": ""}, "field", "must be a field path"),
        ({"kind": "category", "field": "context.os", "top_k": "0"}, "top_k", "integer 1-50"),
        ({"kind": "frequency", "within_days": "7"}, "within_days", "frequency of an event"),
        ({"kind": "segment", "segment": "theirs"}, "segment", "Select a valid choice"),
        ({"kind": "hour"}, None, "declares"),  # twice the same feature: on the row itself
    ],
)
def test_a_bad_row_is_an_error_on_that_row(
    site, other_site, placement, metric, marketer, bad, field, message
):
    SegmentFactory(site=other_site, key="theirs")
    rows = [{"kind": "hour"}, {"kind": "number", "field": "profile.age"}, bad]
    r = marketer.post(ADD, with_rows(setup_post(site, placement, metric, features="[]"), rows))
    assert r.status_code == 200, r.content.decode()[:2000]
    page = r.content.decode()
    assert "Check the rows of what the model may read" in page
    third = row_errors(page, 2)
    assert message in third
    if field is not None:
        cell = third.split(f'class="field-{field} errors"')[1].split("</td>")[0]
        assert message in cell
    assert message not in row_errors(page, 0) + row_errors(page, 1)
    assert not Optimization.objects.exists()


def test_no_rows_at_all_is_an_error_on_the_rows(site, placement, metric, marketer):
    r = marketer.post(ADD, with_rows(setup_post(site, placement, metric, features="[]"), []))
    assert r.status_code == 200
    rows = r.content.decode().split('id="pz-feature-rows"')[1].split("</table>")[0]
    assert "must be a non-empty list" in rows
    assert not Optimization.objects.exists()


def test_another_sites_segment_and_unknown_fields_are_refused(site, other_site, placement, metric):
    """A user of both sites is offered both sites' segments on a new optimization, but a row
    naming the other site's segment (or a field outside the site's catalog) is still refused."""
    user = user_with_role(site, Role.MARKETER, username="both")
    role_grant(site=other_site, user=user, role=Role.MARKETER)
    client = login(user)
    SegmentFactory(site=other_site, key="theirs")
    assert 'value="theirs"' in client.get(ADD).content.decode()
    rows = [{"kind": "segment", "segment": "theirs"}]
    r = client.post(ADD, with_rows(setup_post(site, placement, metric, features="[]"), rows))
    assert r.status_code == 200
    assert "No segment &#x27;theirs&#x27; on this site." in row_errors(r.content.decode(), 0)
    assert not Optimization.objects.exists()


def test_editing_shows_the_features_as_rows_and_saves_the_changes(
    site, placement, metric, marketer
):
    opt = make_optimization(site, placement, metric)
    page = marketer.get(change_url(opt)).content.decode()
    first = row_errors(page, 0)
    assert '<option value="category" selected>' in first
    assert '<option value="context.device_type" selected>' in first
    assert 'name="feature_rows-0-top_k" value="4"' in first
    assert 'name="feature_rows-INITIAL_FORMS" value="1"' in page
    # Keep the row, add the local hour; then delete the category row.
    data = setup_post(site, placement, metric, features=json.dumps(FEATURES), **_arms_of(opt))
    rows = [{"kind": "category", "field": "context.device_type", "top_k": "4"}, {"kind": "hour"}]
    assert marketer.post(change_url(opt), with_rows(data, rows, initial=1)).status_code == 302
    opt.refresh_from_db()
    assert opt.features == [*FEATURES, {"kind": "hour", "field": "context.local_time"}]
    rows = [
        {"kind": "category", "field": "context.device_type", "top_k": "4", "DELETE": True},
        {"kind": "hour"},
    ]
    data["features"] = json.dumps(opt.features)
    assert marketer.post(change_url(opt), with_rows(data, rows, initial=2)).status_code == 302
    opt.refresh_from_db()
    assert opt.features == [{"kind": "hour", "field": "context.local_time"}]


def test_a_path_outside_the_catalog_is_kept_but_not_added(site, placement, metric, marketer):
    """A stored path the catalog lacks (the API accepts any) stays a choice and saves; a new
    row naming a path outside this site's catalog is refused on its field."""
    stored = [{"kind": "number", "field": "context.basket"}]
    opt = make_optimization(site, placement, metric, features=stored)
    data = setup_post(site, placement, metric, features=json.dumps(stored), **_arms_of(opt))
    data["name"] = "Renamed"
    rows = [{"kind": "number", "field": "context.basket", "top_k": "10"}]
    assert marketer.post(change_url(opt), with_rows(data, rows, initial=1)).status_code == 302
    opt.refresh_from_db()
    assert opt.name == "Renamed" and opt.features == stored
    other = make_optimization(site, placement, metric, key="other")
    data = setup_post(site, placement, metric, key="other", **_arms_of(other))
    rows = [{"kind": "number", "field": "context.basket"}]
    r = marketer.post(change_url(other), with_rows(data, rows, initial=1, extra=0))
    assert r.status_code == 200
    assert "Select a valid choice" in row_errors(r.content.decode(), 0)
    assert Optimization.objects.get(pk=other.pk).features == FEATURES


def _arms_of(opt) -> dict:
    arms = list(opt.arms.order_by("key"))
    data = {"arms-TOTAL_FORMS": str(len(arms)), "arms-INITIAL_FORMS": str(len(arms))}
    for i, arm in enumerate(arms):
        data |= {
            f"arms-{i}-id": str(arm.pk),
            f"arms-{i}-optimization": str(opt.pk),
            f"arms-{i}-key": arm.key,
            f"arms-{i}-content_variant": str(arm.content_variant_id),
        }
    return data


def test_the_json_wins_when_only_it_was_edited(site, placement, metric, marketer):
    opt = make_optimization(site, placement, metric)
    edited = [{"kind": "weekday", "field": "context.local_time"}, {"kind": "recency"}]
    data = setup_post(site, placement, metric, features=json.dumps(edited), **_arms_of(opt))
    unchanged = [{"kind": "category", "field": "context.device_type", "top_k": "4"}]
    assert marketer.post(change_url(opt), with_rows(data, unchanged, initial=1)).status_code == 302
    opt.refresh_from_db()
    assert opt.features == edited
    # When both were edited, the rows win.
    data["features"] = json.dumps([{"kind": "recency"}])
    rows = [{"kind": "weekday"}, {"kind": "recency"}, {"kind": "flag", "field": "visitor.is_known"}]
    assert marketer.post(change_url(opt), with_rows(data, rows, initial=2)).status_code == 302
    opt.refresh_from_db()
    assert opt.features == [*edited, {"kind": "flag", "field": "visitor.is_known"}]
    # A bad JSON edit is still an error on the JSON field, not a row.
    data["features"] = json.dumps([{"kind": "category", "field": "context.x", "top_k": 0}])
    rows = [
        {"kind": "weekday", "field": "context.local_time"},
        {"kind": "recency"},
        {"kind": "flag", "field": "visitor.is_known"},
    ]
    r = marketer.post(change_url(opt), with_rows(data, rows, initial=3, extra=0))
    assert (
        r.status_code == 200 and "features[0].top_k: must be an integer 1-50" in r.content.decode()
    )
    opt.refresh_from_db()
    assert opt.features == [*edited, {"kind": "flag", "field": "visitor.is_known"}]


def test_started_features_are_read_only_rows(site, placement, metric, marketer):
    opt = make_optimization(site, placement, metric)
    optimization_start(optimization=opt)
    page = marketer.get(change_url(opt)).content.decode()
    assert 'id="pz-feature-rows-readonly"' in page and "feature_rows-TOTAL_FORMS" not in page
    assert "Category of a field" in page and "field: context.device_type, top k: 4" in page
    # Posting rows anyway changes nothing.
    data = setup_post(site, placement, metric, **_arms_of(opt))
    data = with_rows(data, [{"kind": "hour"}])
    marketer.post(change_url(opt), data)
    opt.refresh_from_db()
    assert opt.features == FEATURES


def test_a_viewer_sees_rows_but_cannot_change(site, placement, metric):
    viewer = login(user_with_role(site, Role.VIEWER, username="viewer"))
    opt = make_optimization(site, placement, metric)
    page = viewer.get(change_url(opt))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="pz-feature-rows-readonly"' in text and 'name="feature_rows-0-kind"' not in text
    data = with_rows(setup_post(site, placement, metric, **_arms_of(opt)), [{"kind": "hour"}])
    assert viewer.post(change_url(opt), data).status_code == 403
    opt.refresh_from_db()
    assert opt.features == FEATURES
    assert viewer.post(ADD, data).status_code == 403
