"""Segment upload and export jobs: progress, unmatched ids, all-or-nothing, site scoping,
the API's 202 + job URL and the download of an export."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from segments.models import SegmentJob, SegmentJobChunk, StaticMember
from segments.services import jobs as jobs_module
from segments.services.jobs import (
    segment_export_job_create,
    segment_job_run,
    segment_jobs_purge,
    segment_upload_job_create,
)
from segments.services.segments import segment_create
from segments.services.static import UploadError
from tests.segments.factories import ProfileFactory, SegmentFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/segments/"


def committed():
    """Jobs start when their transaction commits; inside a test's transaction, run the
    commit callbacks as the request's commit would."""
    return TestCase.captureOnCommitCallbacks(execute=True)


@pytest.fixture
def static(site):
    return segment_create(site=site, key="vip", name="VIP", kind="static")


def test_upload_job_counts_ids_that_match_no_profile(site, other_site, static, marketer):
    for i in range(3):
        ProfileFactory(site=site, user_id=f"known-{i}")
    ProfileFactory(site=other_site, user_id="ghost-0")  # another site's profile is no match
    data = b"user_id\nknown-0\nknown-1\nghost-0\nknown-2\nghost-1\nknown-0\n"
    with committed():
        job = segment_upload_job_create(segment=static, file=data, created_by=marketer)
    job.refresh_from_db()
    assert (job.status, job.phase, job.kind, job.mode) == ("done", "finished", "upload", "replace")
    assert (job.processed, job.total) == (5, 5)
    assert (job.matched, job.unmatched) == (3, 2)
    assert job.unmatched_sample == ["ghost-0", "ghost-1"]
    assert job.result == {"added": 5, "removed": 0, "total": 5, "rows": 6, "duplicates": 1}
    assert job.created_by == marketer and job.started_at and job.finished_at
    assert StaticMember.objects.filter(segment=static).count() == 5
    assert not SegmentJobChunk.objects.filter(job=job).exists()  # the upload is dropped


def test_progress_is_saved_batch_by_batch(static, monkeypatch):
    monkeypatch.setattr(jobs_module, "MATCH_BATCH", 2)
    seen = []
    real_save = jobs_module._save

    def spy(job, *fields):
        real_save(job, *fields)
        if "processed" in fields:
            # what a poller reads at that moment: a committed row, not the object
            seen.append(SegmentJob.objects.values_list("processed", "total").get(pk=job.pk))

    monkeypatch.setattr(jobs_module, "_save", spy)
    with committed():
        segment_upload_job_create(segment=static, file=b"a\nb\nc\nd\ne\n")
    assert seen == [(2, 5), (4, 5), (5, 5)]


def test_the_saving_phase_reports_its_progress_through_the_cache(static, monkeypatch):
    """Members are written in one transaction (invisible until it commits), so the status
    a poller reads during the saving phase comes from the cache, batch by batch."""
    from segments.selectors import jobs as job_selectors
    from segments.services import static as static_module

    monkeypatch.setattr(static_module, "BATCH", 2)
    StaticMember.objects.bulk_create(
        [StaticMember(segment=static, user_id=u) for u in ("old-1", "old-2")]
    )
    seen = []
    real_set = job_selectors.job_saving_progress_set

    def spy(*, job_id, written, to_write):
        real_set(job_id=job_id, written=written, to_write=to_write)
        status = job_selectors.segment_job_status(job=SegmentJob.objects.get(pk=job_id))
        seen.append((status["phase"], status["percent"]))

    monkeypatch.setattr(jobs_module, "job_saving_progress_set", spy)
    with committed():
        job = segment_upload_job_create(segment=static, file=b"a\nb\nc\nd\ne\n")
    # 2 removals then 5 inserts, 2 at a time: 0 %, 28 %, 57 %, 85 %, 99 % (never 100 before done)
    assert seen == [("saving", 0), ("saving", 28), ("saving", 57), ("saving", 85), ("saving", 99)]
    job.refresh_from_db()
    assert job_selectors.segment_job_status(job=job)["percent"] == 100
    assert job.result["removed"] == 2 and job.result["added"] == 5


def test_invalid_rows_fail_the_job_and_change_nothing(static):
    with committed():
        segment_upload_job_create(segment=static, file=b"u-1\n")
    with committed():
        job = segment_upload_job_create(segment=static, file=b"u-2\n\x01bad\nu-3\n")
    job.refresh_from_db()
    assert job.status == "failed" and "nothing was changed" in job.error
    assert job.error_rows == [{"row": 2, "message": "The user id contains control characters."}]
    assert list(StaticMember.objects.values_list("user_id", flat=True)) == ["u-1"]


def test_refused_at_once_without_a_job(site, static, monkeypatch):
    dynamic = SegmentFactory(site=site)
    with pytest.raises(UploadError, match="static"), committed():
        segment_upload_job_create(segment=dynamic, file=b"u-1\n")
    with pytest.raises(UploadError, match="mode"), committed():
        segment_upload_job_create(segment=static, file=b"u-1\n", mode="merge")
    monkeypatch.setattr("segments.services.static.MAX_UPLOAD_BYTES", 10)
    monkeypatch.setattr(jobs_module, "MAX_UPLOAD_BYTES", 10)
    with pytest.raises(UploadError, match="larger"), committed():
        segment_upload_job_create(segment=static, file=b"u-1\n" * 10)
    assert not SegmentJob.objects.exists() and not SegmentJobChunk.objects.exists()


def test_large_upload_is_stored_and_read_in_chunks(static, monkeypatch):
    monkeypatch.setattr(jobs_module, "CHUNK_BYTES", 64)
    ids = [f"user-{i:05d}" for i in range(500)]
    data = ("user_id\r\n" + "\r\n".join(ids) + "\r\n").encode()
    with committed():
        job = segment_upload_job_create(segment=static, file=SimpleUploadedFile("a.csv", data))
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert job.file_size == len(data)
    assert job.total == 500 and job.unmatched == 500 and len(job.unmatched_sample) == 20
    assert set(StaticMember.objects.values_list("user_id", flat=True)) == set(ids)


def test_a_job_runs_once(static):
    with committed():
        job = segment_upload_job_create(segment=static, file=b"u-1\n")
    StaticMember.objects.all().delete()
    segment_job_run(job_id=job.pk)  # a task delivered twice
    assert not StaticMember.objects.exists()


def test_export_job_writes_the_csv_with_progress(site, monkeypatch):
    monkeypatch.setattr(jobs_module, "CHUNK_BYTES", 100)
    monkeypatch.setattr(jobs_module, "EXPORT_PROGRESS_ROWS", 200)
    for i in range(450):
        ProfileFactory(site=site, user_id=f"p-{i:04d}", traits={"city": "Detroit"})
    segment = segment_create(
        site=site,
        key="detroit",
        name="Detroit",
        criteria={"all": [{"field": "profile.city", "op": "eq", "value": "Detroit"}]},
    )
    with committed():
        job = segment_export_job_create(segment=segment)
    job.refresh_from_db()
    assert job.status == "done" and (job.processed, job.total) == (450, 450)
    assert SegmentJobChunk.objects.filter(job=job).count() > 1
    text = b"".join(bytes(c.data) for c in job.chunks.order_by("index")).decode()
    assert job.file_size == len(text.encode())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["user_id"] for r in rows] == [f"p-{i:04d}" for i in range(450)]


def test_export_of_invalid_criteria_fails_with_a_message(site):
    segment = SegmentFactory(site=site, criteria={"all": [{"field": "profile.nope", "op": "eq"}]})
    with committed():
        job = segment_export_job_create(segment=segment)
    job.refresh_from_db()
    assert job.status == "failed" and job.error


def test_purge_deletes_week_old_jobs(static):
    from datetime import timedelta

    from django.utils import timezone

    old = segment_export_job_create(segment=static)
    SegmentJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    recent = segment_export_job_create(segment=static)
    assert segment_jobs_purge() == 1
    assert list(SegmentJob.objects.values_list("pk", flat=True)) == [recent.pk]


def test_api_export_job_download_and_scoping(site, other_site, viewer_client, marketer_client):
    ProfileFactory(site=site, user_id="d-1", traits={"city": "Detroit"})
    segment = segment_create(
        site=site,
        key="detroit",
        name="Detroit",
        criteria={"all": [{"field": "profile.city", "op": "eq", "value": "Detroit"}]},
    )
    # a viewer may export (as they may read the members)
    with committed():
        response = viewer_client.post(f"{URL}{segment.pk}/export/")
    assert response.status_code == 202, response.content
    job = viewer_client.get(response.json()["url"]).json()
    assert job["kind"] == "export" and job["status"] == "done" and job["progress"] == 1.0
    download = viewer_client.get(job["download_url"])
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert 'filename="segment-detroit.csv"' in download["Content-Disposition"]
    body = b"".join(download.streaming_content).decode()
    assert [r["user_id"] for r in csv.DictReader(io.StringIO(body))] == ["d-1"]
    listed = viewer_client.get("/api/v1/segment-jobs/", {"segment": segment.pk}).json()
    assert [j["id"] for j in listed["results"]] == [job["id"]]

    # another site's job is a 404, like a job that does not exist
    foreign = segment_export_job_create(segment=SegmentFactory(site=other_site))
    for path in (
        f"/api/v1/segment-jobs/{foreign.pk}/",
        f"/api/v1/segment-jobs/{foreign.pk}/download/",
    ):
        assert marketer_client.get(path).status_code == 404
    assert marketer_client.get("/api/v1/segment-jobs/99999/").status_code == 404


def test_api_upload_job_reports_unmatched(site, marketer_client, static):
    ProfileFactory(site=site, user_id="known")
    upload = SimpleUploadedFile("vip.csv", b"known\nnobody\n", content_type="text/csv")
    with committed():
        response = marketer_client.post(
            f"{URL}{static.pk}/upload/", {"file": upload, "mode": "append"}, format="multipart"
        )
    assert response.status_code == 202
    assert response["Location"] == response.json()["url"]
    job = marketer_client.get(response.json()["url"]).json()
    assert (job["matched"], job["unmatched"], job["unmatched_sample"]) == (1, 1, ["nobody"])
    assert job["download_url"] is None and job["mode"] == "append"


def test_viewer_may_not_upload(static, viewer_client):
    upload = SimpleUploadedFile("vip.csv", b"u-1\n", content_type="text/csv")
    with committed():
        response = viewer_client.post(
            f"{URL}{static.pk}/upload/", {"file": upload}, format="multipart"
        )
    assert response.status_code == 403
    assert not SegmentJob.objects.exists()


def test_admin_job_pages_are_scoped_to_the_users_sites(site, other_site, marketer, client):
    foreign_segment = SegmentFactory(site=other_site)
    foreign = segment_export_job_create(segment=foreign_segment)
    client.force_login(marketer)  # a marketer of `site` only
    base = f"/admin/segments/segment/{foreign_segment.pk}/jobs/{foreign.pk}/"
    for path in (base, f"{base}status/", f"{base}download/"):
        assert client.get(path).status_code == 404, path
    # nor through a segment of one's own site
    own = SegmentFactory(site=site)
    assert client.get(f"/admin/segments/segment/{own.pk}/jobs/{foreign.pk}/").status_code == 404
    assert client.get(f"/admin/segments/segment/{foreign_segment.pk}/export/").status_code == 404
