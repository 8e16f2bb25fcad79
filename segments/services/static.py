"""Static segments: member lists uploaded as CSV."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator
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


CHUNK_BYTES = 256 * 1024


def file_chunks(file: IO | bytes | str, *, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The file's bytes, a piece at a time (an uploaded file is never read whole)."""
    if isinstance(file, str):
        file = file.encode()
    if isinstance(file, bytes):
        for start in range(0, len(file), size):
            yield file[start : start + size]
        return
    if hasattr(file, "seek"):
        file.seek(0)
    while True:
        piece = file.read(size)
        if not piece:
            return
        yield piece.encode() if isinstance(piece, str) else piece


def _text_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Decoded lines (with their endings, as csv.reader wants them) of a stream of UTF-8
    chunks, holding one chunk at a time; refuses more than MAX_UPLOAD_BYTES."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    seen = 0
    pending = ""
    first = True
    for chunk in chunks:
        seen += len(chunk)
        if seen > MAX_UPLOAD_BYTES:
            raise UploadError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise UploadError(
                f"The file is not UTF-8 text (byte {seen - len(chunk) + exc.start})."
            ) from exc
        if first and text:
            text, first = text.removeprefix("\ufeff"), False
        lines = (pending + text).splitlines(keepends=True)
        pending = lines.pop() if lines and not lines[-1].endswith(("\n", "\r")) else ""
        yield from lines
    try:
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise UploadError(f"The file is not UTF-8 text (byte {seen + exc.start}).") from exc
    if pending:
        yield pending


def parse_user_ids_csv(
    *, file: IO | bytes | str | Iterable[bytes]
) -> tuple[list[str], UploadResult]:
    """User ids from a CSV: the `user_id` column if the first row is a header, else column 1.

    Streams the file: memory holds one chunk and the distinct ids (at most MAX_ROWS)."""
    chunks = file if _is_chunk_iterable(file) else file_chunks(file)
    result = UploadResult()
    reader = csv.reader(_text_lines(chunks))
    seen: set[str] = set()
    ids: list[str] = []
    column, data_rows = 0, 0
    try:
        for number, row in enumerate(reader, start=1):
            if number == 1:
                header = [cell.strip().lower() for cell in row]
                if "user_id" in header:
                    column = header.index("user_id")
                    continue
            data_rows += 1
            if data_rows > MAX_ROWS:
                raise UploadError(f"The file has more than {MAX_ROWS} rows; at most {MAX_ROWS}.")
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
    except csv.Error as exc:
        raise UploadError(f"The file is not valid CSV: {exc}.") from exc
    if not result.rows and not result.errors:
        raise UploadError("The file has no user ids.")
    return ids, result


def _is_chunk_iterable(file: object) -> bool:
    return not isinstance(file, (str, bytes)) and not hasattr(file, "read")


def static_segment_upload_check(*, segment: Segment, mode: str) -> None:
    """Refuse an upload the segment or mode cannot take (before any file is read)."""
    if segment.kind != SegmentKind.STATIC:
        raise UploadError("Only a static segment takes uploaded user ids.")
    if mode not in UPLOAD_MODES:
        raise UploadError(f"mode must be one of {', '.join(UPLOAD_MODES)}.")


def static_segment_upload_csv(
    *,
    segment: Segment,
    file: IO | bytes | str | Iterable[bytes],
    mode: str = "replace",
    changed_by: AbstractBaseUser | None = None,
) -> UploadResult:
    """Set (or add to) a static segment's members from a CSV of user ids, in this process
    (the admin and the API run it as a background job: segments.services.jobs).

    All or nothing: any invalid row rejects the upload with an UploadError listing the rows."""
    static_segment_upload_check(segment=segment, mode=mode)
    ids, result = parse_user_ids_csv(file=file)
    return static_segment_members_set(
        segment=segment, ids=ids, result=result, mode=mode, changed_by=changed_by
    )


def static_segment_members_set(
    *,
    segment: Segment,
    ids: list[str],
    result: UploadResult,
    mode: str,
    changed_by: AbstractBaseUser | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> UploadResult:
    """Write parsed ids as the segment's members, in one transaction (all or nothing).
    `progress(written, to_write)` is called after each batch of removals and inserts (the
    transaction hides the rows themselves from other readers until it commits)."""
    static_segment_upload_check(segment=segment, mode=mode)
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
        gone_list = list(existing - wanted) if mode == "replace" else []
        result.removed = len(gone_list)
        new = [
            StaticMember(segment=segment, user_id=u, added_at=now) for u in ids if u not in existing
        ]
        to_write, written = len(gone_list) + len(new), 0
        if progress:
            progress(0, to_write)
        for i in range(0, len(gone_list), BATCH):
            chunk = gone_list[i : i + BATCH]
            StaticMember.objects.filter(segment=segment, user_id__in=chunk).delete()
            written += len(chunk)
            if progress:
                progress(written, to_write)
        for i in range(0, len(new), BATCH):
            chunk = new[i : i + BATCH]
            StaticMember.objects.bulk_create(chunk, ignore_conflicts=True)
            written += len(chunk)
            if progress:
                progress(written, to_write)
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
