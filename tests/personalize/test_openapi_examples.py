"""Every request example of the OpenAPI schema is a request the API accepts.

Each example body is sent to its operation, on a fresh site with the key or the signed-in
site admin it needs, and must get a 2xx. Criteria in examples must be trees of
segments/criteria/examples.json; the custom fields and referenced segments they need are
created from that file first.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from segments.criteria.examples import criteria_examples
from segments.services.fields import field_create
from segments.services.segments import segment_create
from tenancy.roles import Role
from tests.factories import SiteFactory, make_key, user_with_role

EXAMPLES = {example["name"]: example for example in criteria_examples()}
PATH_PARAMETERS = {"user_id": "u-42"}
METHODS = ("get", "post", "put", "patch", "delete")


def request_examples(schema: dict[str, Any]) -> list[tuple[str, str, dict, str, str, Any]]:
    """(path, method, operation, media type, example name, body) of every request example."""
    found = []
    for path, item in schema["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if not operation:
                continue
            content = operation.get("requestBody", {}).get("content", {})
            for media, spec in content.items():
                for name, example in spec.get("examples", {}).items():
                    found.append((path, method, operation, media, name, example["value"]))
    return found


def example_named_by_tree(tree: Any) -> str:
    for name, example in EXAMPLES.items():
        if example["tree"] == tree:
            return name
    raise AssertionError(f"Criteria not in segments/criteria/examples.json: {tree}")


def referenced_segments(node: Any) -> list[str]:
    if not isinstance(node, dict):
        return []
    found = [node["segment"]] if "segment" in node else []
    for key in ("all", "any", "none"):
        for child in node.get(key, []):
            found += referenced_segments(child)
    return found


def prepare_criteria(site: Any, name: str) -> None:
    """Create the custom fields and referenced segments example `name` needs, depth first."""
    example = EXAMPLES[name]
    for path, kind in example.get("fields", {}).items():
        if not site.fields.filter(path=path).exists():
            field_create(site=site, path=path, type=kind)
    for key in referenced_segments(example["tree"]):
        if not site.segments.filter(key=key).exists():
            prepare_criteria(site, key)
            segment_create(
                site=site, key=key, name=EXAMPLES[key]["title"], criteria=EXAMPLES[key]["tree"]
            )


def prepare_experiment(site: Any, body: dict[str, Any]) -> dict[str, Any]:
    """The slot, variants and metrics an experiment example names by id, made on `site`
    (the example's ids become theirs)."""
    from analytics.services.metrics import metric_create
    from content.services.drafts import content_variant_create, placement_create

    slot = placement_create(site=site, key="example-slot", name="Example", kind="text")
    content_variant_create(placement=slot, key="default", name="Default", body="Hello")
    audience = segment_create(
        site=site, key="example-audience", name="Everyone", criteria={"all": []}
    )
    arms = []
    for n, arm in enumerate(body.get("arms", [])):
        if "content_variant" in arm:
            variant = content_variant_create(
                placement=slot, key=f"arm-{n}", name=f"Arm {n}", body=f"Hi {n}", segment=audience
            )
            arm = {**arm, "content_variant": variant.pk}
        arms.append(arm)
    metrics = [
        {
            **row,
            "metric": metric_create(
                site=site, key=f"m-{n}", name=f"M {n}", kind="conversion", event="purchase"
            ).pk,
        }
        for n, row in enumerate(body.get("metrics", []))
    ]
    return {**body, "placement": slot.pk, "arms": arms, "metrics": metrics}


def prepare_optimization(site: Any, body: dict[str, Any]) -> dict[str, Any]:
    """The slot, variants, goal and segments an optimization example names, made on `site`."""
    from analytics.services.metrics import metric_create
    from content.services.drafts import content_variant_create, placement_create

    slot = placement_create(site=site, key="optimized-slot", name="Optimized", kind="text")
    content_variant_create(placement=slot, key="default", name="Default", body="Hello")
    nobody = segment_create(site=site, key="example-nobody", name="Nobody", criteria={"all": []})
    for feature in body.get("features", []):
        if feature.get("kind") == "segment":
            segment_create(
                site=site, key=feature["segment"], name=feature["segment"], criteria={"all": []}
            )
    arms = [
        {
            **arm,
            "content_variant": content_variant_create(
                placement=slot, key=f"arm-{n}", name=f"Arm {n}", body=f"Hi {n}", segment=nobody
            ).pk,
        }
        for n, arm in enumerate(body.get("arms", []))
    ]
    goal = metric_create(site=site, key="goal", name="Goal", kind="conversion", event="purchase")
    return {**body, "placement": slot.pk, "goal": goal.pk, "arms": arms}


def uses_api_key(operation: dict[str, Any]) -> bool:
    return any("ApiKeyAuth" in requirement for requirement in operation.get("security", []))


@pytest.mark.django_db
def test_every_request_example_is_accepted(client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    cases = request_examples(schema)
    operations = {(path, method) for path, method, *_ in cases}
    # The examples this test was written for are all still there.
    assert {
        ("/api/v1/segments/", "post"),
        ("/api/v1/segments/preview", "post"),
        ("/api/v1/segments/audience", "post"),
        ("/api/v1/fields/", "post"),
        ("/api/v1/decide", "post"),
        ("/api/v1/events", "post"),
    } <= operations

    failures = []
    for n, (path, method, operation, media, name, body) in enumerate(cases):
        assert media == "application/json", f"{method} {path} {name}: add a {media} sender"
        site = SiteFactory(slug=f"examples-{n}")
        headers: dict[str, str] = {}
        if uses_api_key(operation):
            headers["HTTP_AUTHORIZATION"] = f"Api-Key {make_key(site, 'server')}"
        else:
            client.force_login(user_with_role(site, Role.SITE_ADMIN, username=f"admin-{n}"))
        if isinstance(body, dict) and "site" in body:
            body = {**body, "site": site.pk}
        if isinstance(body, dict) and path == "/api/v1/experiments/":
            body = prepare_experiment(site, body)
        if isinstance(body, dict) and path == "/api/v1/optimizations/":
            body = prepare_optimization(site, body)
        if isinstance(body, dict) and "criteria" in body:
            prepare_criteria(site, example_named_by_tree(body["criteria"]))
        url = path
        for parameter, value in PATH_PARAMETERS.items():
            url = url.replace(f"{{{parameter}}}", value)
        assert "{" not in url, f"{method} {path} {name}: give the path parameter a value"
        response = client.generic(
            method.upper(), url, json.dumps(body), content_type=media, **headers
        )
        if not 200 <= response.status_code < 300:
            failures.append(
                f"{method.upper()} {path} example {name!r}: "
                f"{response.status_code} {response.content.decode()[:500]}"
            )
        client.logout()
    assert not failures, "\n".join(failures)
