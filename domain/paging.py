"""Cursor pagination: the one ``Page`` every list answers with, and paging over a list of ids newest first (the
cursor is the last id of the previous page)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from domain.errors import ValidationFailed

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    next_cursor: str | None
    has_more: bool = field(default=False)


def page_of(newest_first: list[str], after: str | None, limit: int) -> tuple[list[str], str | None, bool]:
    """The ids of the page after ``after``, the next cursor (None on the last page), and whether more follow."""
    start = 0
    if after is not None:
        if after not in newest_first:
            raise ValidationFailed("after is not a cursor of this list", field="after")
        start = newest_first.index(after) + 1
    page = newest_first[start : start + limit]
    has_more = start + limit < len(newest_first)
    return page, page[-1] if has_more else None, has_more
