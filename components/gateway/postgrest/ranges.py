"""Pagination: `limit`/`offset` parameters and the `Range`/`Range-Unit` headers.

As PostgREST does: the `Range` header (GET only, `Range: 0-19` or `Range: 10-`) is
intersected with the parameters, so whichever asks for less wins; `limit=0` bypasses the
header; a negative offset is a no-op; a limit or offset that is not an integer is ignored;
a negative limit, or a range that ends before it starts, is a 416 (PGRST103).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.gateway.postgrest.errors import range_error

NEGATIVE_LIMIT = "Limit should be greater than or equal to zero."
LOWER_GT_UPPER = (
    "The lower boundary must be lower than or equal to the upper boundary in the Range header."
)
_INT = re.compile(r"\s*(-?[0-9]{1,18})\s*")
_RANGE = re.compile(r"\s*([0-9]{1,18})-([0-9]{0,18})\s*")


@dataclass(frozen=True, slots=True)
class Page:
    """Rows `offset` to `offset + limit - 1`; `limit=None` means to the end."""

    offset: int = 0
    limit: int | None = None

    @property
    def upper(self) -> int | None:
        return None if self.limit is None else self.offset + self.limit - 1


@dataclass(frozen=True, slots=True)
class HeaderRange:
    """What a `Range: lower-upper` header asked for (`upper=None`: open-ended)."""

    lower: int
    upper: int | None


def read_int(text: str | None) -> int | None:
    """Return the integer `text` spells, or None (PostgREST ignores what does not read)."""
    match = _INT.fullmatch(text) if text is not None else None
    return int(match.group(1)) if match else None


def param_page(limit: str | None, offset: str | None) -> Page:
    """Return the page the `limit`/`offset` parameters of one level ask for."""
    rows = read_int(limit)
    if rows is not None and rows < 0:
        raise range_error(NEGATIVE_LIMIT)
    return Page(max(read_int(offset) or 0, 0), rows)


def header_range(value: str | None, unit: str | None) -> HeaderRange | None:
    """Read a `Range` header; None when absent, malformed or in a unit other than items."""
    if value is None or (unit is not None and unit.strip().lower() not in ("", "items")):
        return None
    match = _RANGE.fullmatch(value)
    if not match:
        return None
    upper = int(match.group(2)) if match.group(2) else None
    return HeaderRange(int(match.group(1)), upper)


def top_page(params: Page, header: HeaderRange | None) -> Page:
    """Intersect the parameters' page with the header's range."""
    if header is None or params.limit == 0:
        return params
    if header.upper is not None and header.upper < header.lower:
        raise range_error(LOWER_GT_UPPER)
    lower = max(header.lower, params.offset)
    uppers = [u for u in (header.upper, params.upper) if u is not None]
    upper = min(uppers) if uppers else None
    if upper is not None and upper < lower:
        raise range_error(NEGATIVE_LIMIT)
    return Page(lower, None if upper is None else upper - lower + 1)
