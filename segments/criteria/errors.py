"""Validation errors that carry the JSON path of the offending node."""

from __future__ import annotations


class CriteriaError(ValueError):
    """A criteria tree is invalid. `path` is a JSON path such as `$.all[0].value`.

    When several problems were found, `errors` lists them all (each a CriteriaError) and
    the exception itself describes the first.
    """

    def __init__(self, path: str, message: str, errors: list[CriteriaError] | None = None):
        self.path = path
        self.message = message
        self.errors: list[CriteriaError] = errors if errors else [self]
        super().__init__(f"{path}: {message}")

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}

    def __reduce__(self):  # keep pickling (e.g. through Celery) working
        return (CriteriaError, (self.path, self.message))
