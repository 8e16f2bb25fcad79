"""Request parsing with hard limits: size and nesting are checked before anything else runs."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException

from tenancy.api.parsers import StrictJSONParser

MAX_JSON_BODY_BYTES = 512 * 1024


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class BoundedJSONParser(StrictJSONParser):
    """JSON bodies up to `max_bytes`; absurd nesting is a 400, not a crashed worker; only
    storable values (see tenancy.jsonsafe)."""

    max_bytes = MAX_JSON_BODY_BYTES

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: dict | None = None
    ) -> Any:
        if stream is None:
            return {}
        raw = stream.read(self.max_bytes + 1)
        if len(raw) > self.max_bytes:
            raise PayloadTooLarge(f"The request body is larger than {self.max_bytes // 1024} KB.")
        return self.parse_bytes(raw)
