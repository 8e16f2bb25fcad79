import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from segments.models import SegmentKind, SegmentRevision
from segments.services import static as static_module
from segments.services.segments import segment_create
from segments.services.static import UploadError, parse_user_ids_csv, static_segment_upload_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def static(site):
    return segment_create(site=site, key="vip", name="VIP", kind=SegmentKind.STATIC)


def members(segment):
    return sorted(segment.static_members.values_list("user_id", flat=True))


def test_header_column_is_used(static):
    result = static_segment_upload_csv(segment=static, file=b"email,user_id\na@x,u-1\nb@x,u-2\n,\n")
    assert (result.added, result.total, result.rows) == (2, 2, 2)
    assert members(static) == ["u-1", "u-2"]
    assert SegmentRevision.objects.filter(segment=static, summary__startswith="Uploaded").exists()


def test_upload_records_who_changed_the_members(static, marketer):
    from django.contrib.auth.models import AnonymousUser

    static_segment_upload_csv(segment=static, file=b"u-1\n", changed_by=marketer)
    static_segment_upload_csv(
        segment=static, file=b"u-2\n", mode="append", changed_by=AnonymousUser()
    )
    uploads = SegmentRevision.objects.filter(segment=static, summary__startswith="Uploaded")
    assert [r.changed_by for r in uploads.order_by("pk")] == [marketer, None]
    assert uploads.order_by("pk").last().summary == "Uploaded 1 user ids (append): +1 -0"


def test_plain_list_without_header_and_bom(static):
    static_segment_upload_csv(segment=static, file="\ufeffu-1\nu-2\nu-2\n".encode())
    assert members(static) == ["u-1", "u-2"]


def test_replace_and_append(static):
    static_segment_upload_csv(segment=static, file=b"u-1\nu-2\n")
    result = static_segment_upload_csv(segment=static, file=b"u-2\nu-3\n", mode="replace")
    assert (result.added, result.removed, result.total) == (1, 1, 2)
    assert members(static) == ["u-2", "u-3"]
    static_segment_upload_csv(segment=static, file=b"u-9\n", mode="append")
    assert members(static) == ["u-2", "u-3", "u-9"]


def test_row_errors_reject_everything(static):
    static_segment_upload_csv(segment=static, file=b"u-1\n")
    long_id = "x" * 300
    data = f"user_id,name\nu-5,a\n,b\n{long_id},c\n".encode()
    with pytest.raises(UploadError) as info:
        static_segment_upload_csv(segment=static, file=data)
    assert [r["row"] for r in info.value.rows] == [3, 4]
    assert "empty" in info.value.rows[0]["message"]
    assert members(static) == ["u-1"]


def test_not_utf8_and_empty(static):
    with pytest.raises(UploadError, match="UTF-8"):
        static_segment_upload_csv(segment=static, file=b"\xff\xfe\x00bad")
    with pytest.raises(UploadError, match="no user ids"):
        static_segment_upload_csv(segment=static, file=b"\n\n")
    with pytest.raises(UploadError, match="no user ids"):
        static_segment_upload_csv(segment=static, file=b"user_id\n")


def test_size_and_row_limits(static, monkeypatch):
    monkeypatch.setattr(static_module, "MAX_UPLOAD_BYTES", 10)
    with pytest.raises(UploadError, match="larger"):
        static_segment_upload_csv(segment=static, file=SimpleUploadedFile("a.csv", b"u-1\n" * 10))
    monkeypatch.setattr(static_module, "MAX_UPLOAD_BYTES", 10_000)
    monkeypatch.setattr(static_module, "MAX_ROWS", 3)
    with pytest.raises(UploadError, match="at most 3"):
        static_segment_upload_csv(segment=static, file=b"u-1\nu-2\nu-3\nu-4\n")


def test_dynamic_segment_takes_no_upload(site):
    dynamic = segment_create(site=site, key="d", name="D")
    with pytest.raises(UploadError, match="static"):
        static_segment_upload_csv(segment=dynamic, file=b"u-1\n")


def test_parse_reports_duplicates():
    ids, result = parse_user_ids_csv(file=b"u-1\nu-1\nu-2\n")
    assert ids == ["u-1", "u-2"] and result.duplicates == 1
