"""Pagination for every list of the API: `?limit=` is capped (an unbounded or huge limit
would ask the database for billions of rows, or overflow its LIMIT)."""

from rest_framework.pagination import LimitOffsetPagination

MAX_PAGE_SIZE = 500


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_PAGE_SIZE
