"""In chromium: a static segment upload's progress page reaches done and shows the ids that
match no profile; an export offers its file; the admin preview renders HTML in a sandboxed
iframe and a screen design as a visual mock (no raw JSON in sight).

`PREVIEW_SCREENSHOT=1 pytest tests/browser -k preview_renders` refreshes docs/img/preview.png."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from content import demo
from segments.models import SegmentJob, SegmentJobChunk
from segments.services.jobs import segment_job_run
from segments.services.segments import segment_create
from tenancy.roles import Role
from tests.browser.conftest import admin_login
from tests.content.test_demo import CRITERIA
from tests.factories import SiteFactory, user_with_role
from tests.segments.factories import ProfileFactory, SegmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PREVIEW_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "preview.png"


@pytest.fixture
def site(transactional_db: Any) -> Any:
    return SiteFactory(slug="alpha", name="Alpha")


@pytest.fixture
def marketer(page: Page, live_server: Any, site: Any) -> Page:
    user_with_role(site, Role.MARKETER, username="mk")
    return admin_login(page, live_server.url, "mk")


def test_upload_progress_reaches_done_and_shows_unmatched_ids(
    marketer: Page, live_server: Any, site: Any, page_errors: list[str], tmp_path: Path
) -> None:
    page = marketer
    for i in range(3):
        ProfileFactory(site=site, user_id=f"known-{i}")
    segment = segment_create(site=site, key="vip", name="VIP", kind="static")
    csv_file = tmp_path / "vip.csv"
    csv_file.write_text("user_id\nknown-0\nknown-1\nknown-2\nstranger-1\nstranger-2\n")
    page.goto(f"{live_server.url}/admin/segments/segment/{segment.pk}/change/")
    page.set_input_files("input[name=members_csv]", str(csv_file))
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/admin/segments/segment/{segment.pk}/jobs/\d+/$"))
    job = page.locator(".pz-job")
    expect(job).to_have_attribute("data-state", "done")
    expect(page.locator("progress.pz-job-bar")).to_have_attribute("value", "100")
    expect(page.locator('[data-field="unmatched"]')).to_have_text("2")
    expect(page.locator('[data-field="unmatched_sample"]')).to_have_text("stranger-1, stranger-2")
    expect(page.locator('[data-field="result_text"]')).to_contain_text("5 members")
    assert page_errors == []


def test_progress_page_follows_a_running_job_until_done(
    marketer: Page, live_server: Any, site: Any, page_errors: list[str]
) -> None:
    """The page polls: opened while the job waits, it moves to done by itself."""
    page = marketer
    ProfileFactory(site=site, user_id="known")
    segment = segment_create(site=site, key="vip", name="VIP", kind="static")
    # A job as the request leaves it when a worker will run it: stored, not started.
    job = SegmentJob.objects.create(
        site=site, segment=segment, segment_key="vip", kind="upload", mode="replace"
    )
    SegmentJobChunk.objects.create(job=job, index=0, data=b"known\nghost\n")
    page.goto(f"{live_server.url}/admin/segments/segment/{segment.pk}/jobs/{job.pk}/")
    expect(page.locator(".pz-job")).to_have_attribute("data-state", "pending")
    expect(page.locator("progress.pz-job-bar")).to_have_attribute("value", "0")
    segment_job_run(job_id=job.pk)  # the worker
    expect(page.locator(".pz-job")).to_have_attribute("data-state", "done", timeout=10000)
    expect(page.locator('[data-field="unmatched"]')).to_have_text("1")
    expect(page.locator('[data-field="matched"]')).to_have_text("1")
    expect(page.locator('[data-field="unmatched_sample"]')).to_have_text("ghost")
    assert page_errors == []


def test_export_job_offers_the_file(
    marketer: Page, live_server: Any, site: Any, page_errors: list[str]
) -> None:
    page = marketer
    ProfileFactory(site=site, user_id="d-1", traits={"city": "Detroit"})
    segment = SegmentFactory(
        site=site, criteria={"all": [{"field": "profile.city", "op": "eq", "value": "Detroit"}]}
    )
    page.goto(f"{live_server.url}/admin/segments/segment/{segment.pk}/change/")
    page.get_by_role("link", name="Export CSV").click()
    page.get_by_role("button", name="Start the export").click()
    expect(page.locator(".pz-job")).to_have_attribute("data-state", "done")
    with page.expect_download() as download:
        page.locator(".pz-job-download").click()
    assert "d-1" in Path(download.value.path()).read_text()
    assert page_errors == []


def test_preview_renders_html_in_a_sandbox_and_designs_as_a_mock(
    page: Page, live_server: Any, site: Any, page_errors: list[str]
) -> None:
    for key, criteria in CRITERIA.items():
        SegmentFactory(site=site, key=key, criteria=criteria)
    demo.seed(site)
    user_with_role(site, Role.VIEWER, username="viewer")
    admin_login(page, live_server.url, "viewer")
    page.goto(f"{live_server.url}/admin/content/placement/preview/visitor/")
    page.locator("textarea[name=document]").fill('{"context": {"weather": "rain"}}')
    page.get_by_role("button", name="Preview").click()
    result = page.locator("#preview-result")
    expect(result).to_be_visible()
    # HTML bodies: in sandboxed iframes, never in the admin's own DOM
    frames = result.locator("iframe.pz-rendered")
    assert frames.count() >= 1
    assert all(f.get_attribute("sandbox") == "" for f in frames.all())
    # ...where the body is rendered (the hero's heading, inside the frame)
    hero = result.locator('[data-slot="placement:home_hero"] iframe.pz-rendered')
    expect(hero.content_frame.locator("h2")).to_have_text("Welcome to Demo Bank & Shop")
    # screen designs: drawn blocks, themed; the JSON only in a collapsed detail
    mocks = result.locator("[data-screen-mock]")
    assert mocks.count() >= 1
    for mock in mocks.all():
        expect(mock.locator("[class^=pz-c-]").first).to_be_visible()
        assert "{" not in mock.inner_text()
    assert result.locator(".pz-c-unknown").count() == 0
    for pre in result.locator("pre").all():
        expect(pre).to_be_hidden()
    # a JSON placement as cards, not source
    assert result.locator("[data-placement-mock] .offer").count() >= 1
    if os.environ.get("PREVIEW_SCREENSHOT"):
        page.set_viewport_size({"width": 1280, "height": 1000})
        if page.locator("#toggle-nav-sidebar").is_visible():
            page.locator("#toggle-nav-sidebar").click()  # the table, not the app list
        for frame in result.locator("iframe").all():
            expect(frame.content_frame.locator("body > *").first).to_be_attached()
        result.screenshot(path=str(PREVIEW_SCREENSHOT))
    assert page_errors == []
