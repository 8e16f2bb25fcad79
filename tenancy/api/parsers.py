"""The API's parsers: only values PostgreSQL can store get past them (JSON, forms)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import DataAndFiles, FormParser, JSONParser, MultiPartParser

from tenancy import jsonsafe


def unsafe_json_error(exc: jsonsafe.UnsafeJSON) -> ValidationError:
    """A 400 in the error envelope whose field path is the value at fault."""
    return ValidationError({exc.path: [exc.message]} if exc.path else [exc.message])


class StrictJSONParser(JSONParser):
    """DRF's JSONParser, refusing NaN/Infinity, out-of-range numbers, lone surrogates and NUL
    anywhere in the body (400 with the path), and answering 400 for malformed JSON."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: dict | None = None
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        return self.parse_bytes(raw, encoding=encoding)

    def parse_bytes(self, raw: bytes, *, encoding: str = "utf-8") -> Any:
        try:
            return jsonsafe.loads_checked(raw.decode(encoding))
        except jsonsafe.UnsafeJSON as exc:
            raise unsafe_json_error(exc) from exc
        except RecursionError as exc:
            raise ParseError("The JSON is nested too deeply.") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error: {exc}") from exc


def _check_form_fields(data: Any) -> None:
    for key, values in data.lists():
        for value in values:
            problem = jsonsafe.text_problem(key) or jsonsafe.text_problem(value)
            if problem:
                raise ValidationError({ascii(key)[1:-1]: [problem]})


class StrictFormParser(FormParser):
    """URL-encoded forms without NUL characters (which text columns cannot store)."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: dict | None = None
    ) -> Any:
        data = super().parse(stream, media_type, parser_context)
        _check_form_fields(data)
        return data


class StrictMultiPartParser(MultiPartParser):
    """Multipart forms whose text fields hold no NUL characters (files are not checked)."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: dict | None = None
    ) -> DataAndFiles:
        parsed = super().parse(stream, media_type, parser_context)
        _check_form_fields(parsed.data)
        return parsed
