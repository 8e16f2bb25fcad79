"""Static segments: member lists uploaded as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import IO

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from segments.models import Segment, SegmentKind, StaticMember, StaticSource
from segments.services.segments import _record, segment_config_changed

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 200_000
MAX_USER_ID_LENGTH = 255
MAX_REPORTED_ERRORS = 100
UPLOAD_MODES = ("replace", "append")
BATCH = 5000


@dataclass
class UploadResult:
    added: int = 0
    removed: int = 0
    total: int = 0
    rows: int = 0
    duplicates: int = 0
    errors: list[dict] = field(default_factory=list)


class UploadError(ValidationError):
    """The upload was rejected; `.rows` lists [{row, message}] (row 1 is the first line)."""

    def __init__(self, message: str, rows: list[dict] | None = None) -> None:
        super().__init__(message)
        self.rows = rows or []


def _read_text(file: IO | bytes | str) -> str:
    if isinstance(file, str):
        raw = file.encode()
    elif isinstance(file, bytes):
        raw = file
    else:
        raw = file.read(MAX_UPLOAD_BYTES + 1)
        if isinstance(raw, str):
            raw = raw.encode()
    if len(raw) > MAX_UPLOAD_BYTES:
        raise UploadError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadError(f"The file is not UTF-8 text (byte {exc.start}).") from exc


def parse_user_ids_csv(*, file: IO | bytes | str) -> tuple[list[str], UploadResult]:
    """User ids from a CSV: the `user_id` column if the first row is a header, else column 1."""
    text = _read_text(file)
    result = UploadResult()
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise UploadError(f"The file is not valid CSV: {exc}.") from exc
    if not rows or not any(any(cell.strip() for cell in row) for row in rows):
        raise UploadError("The file has no user ids.")
    column, start = 0, 0
    header = [cell.strip().lower() for cell in rows[0]]
    if "user_id" in header:
        column, start = header.index("user_id"), 1
    if len(rows) - start > MAX_ROWS:
        raise UploadError(f"The file has {len(rows) - start} rows; at most {MAX_ROWS}.")
    seen: set[str] = set()
    ids: list[str] = []
    for number, row in enumerate(rows[start:], start=start + 1):
        if not any(cell.strip() for cell in row):
            continue  # blank lines are fine
        result.rows += 1
        value = row[column].strip() if column < len(row) else ""
        error = None
        if not value:
            error = "The user id is empty."
        elif len(value) > MAX_USER_ID_LENGTH:
            error = f"The user id is longer than {MAX_USER_ID_LENGTH} characters."
        elif any(ord(ch) < 32 for ch in value):
            error = "The user id contains control characters."
        if error:
            if len(result.errors) < MAX_REPORTED_ERRORS:
                result.errors.append({"row": number, "message": error})
            else:
                result.errors[-1] = {"row": number, "message": "…and more errors."}
            continue
        if value in seen:
            result.duplicates += 1
            continue
        seen.add(value)
        ids.append(value)
    return ids, result


def static_segment_upload_csv(
    *,
    segment: Segment,
    file: IO | bytes | str,
    mode: str = "replace",
    changed_by: AbstractBaseUser | None = None,
) -> UploadResult:
    """Set (or add to) a static segment's members from a CSV of user ids.

    All or nothing: any invalid row rejects the upload with an UploadError listing the rows."""
    if segment.kind != SegmentKind.STATIC:
        raise UploadError("Only a static segment takes uploaded user ids.")
    if mode not in UPLOAD_MODES:
        raise UploadError(f"mode must be one of {', '.join(UPLOAD_MODES)}.")
    ids, result = parse_user_ids_csv(file=file)
    if result.errors:
        raise UploadError(
            f"{len(result.errors)} row(s) are invalid; nothing was changed.", rows=result.errors
        )
    if not ids:
        raise UploadError("The file has no user ids.")
    now = timezone.now()
    with transaction.atomic():
        existing = set(
            StaticMember.objects.filter(segment=segment).values_list("user_id", flat=True)
        )
        wanted = set(ids)
        if mode == "replace":
            gone = existing - wanted
            result.removed = len(gone)
            gone_list = list(gone)
            for i in range(0, len(gone_list), BATCH):
                StaticMember.objects.filter(
                    segment=segment, user_id__in=gone_list[i : i + BATCH]
                ).delete()
        new = [
            StaticMember(segment=segment, user_id=u, added_at=now) for u in ids if u not in existing
        ]
        StaticMember.objects.bulk_create(new, batch_size=BATCH, ignore_conflicts=True)
        result.added = len(new)
        result.total = StaticMember.objects.filter(segment=segment).count()
        if not segment.static_source:
            segment.static_source = StaticSource.UPLOAD
        segment.save(update_fields=["static_source", "updated_at"])
        _record(
            segment,
            changed_by=changed_by,
            summary=f"Uploaded {len(ids)} user ids ({mode}): +{result.added} -{result.removed}",
        )
        segment_config_changed(segment=segment)
    return result
