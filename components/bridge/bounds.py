"""Which target checks a source column cannot fail: its type keeps every value in range.

A check that every value of a column fits the target (`encode.py`) costs a pass over
the column; when the source engine enforces a type whose values all fit the target
type, the pass proves nothing and is skipped. SQLite enforces no declared width, so its
integers are only known to be 64-bit, and its NUMERIC columns hold anything.
"""

from __future__ import annotations

from components.datastore.schema import Kind

from .typeinfo import TypeInfo

SQLITE_INT = (-(2**63), 2**63 - 1)  # what any SQLite integer holds, whatever its declared type
ENFORCED_DECIMALS = ("postgres", "mysql")  # engines that keep decimals to their precision


def int_bounds(info: TypeInfo) -> tuple[int, int]:
    """Return the smallest and largest integer a column of this type can hold."""
    return SQLITE_INT if info.engine == "sqlite" else info.int_range


def ints_fit(source: TypeInfo, target: TypeInfo) -> bool:
    """Tell whether every integer the source column can hold fits the target column."""
    if source.kind is not Kind.INTEGER or target.kind is not Kind.INTEGER:
        return False
    (lo, hi), (low, high) = int_bounds(source), int_bounds(target)
    return low <= lo and hi <= high


def decimals_fit(source: TypeInfo, target: TypeInfo) -> bool:
    """Tell whether every decimal the source column can hold fits the target column
    (PostgreSQL's NaN only where the target holds NaN too: PostgreSQL)."""
    if source.kind is not Kind.DECIMAL or target.kind is not Kind.DECIMAL:
        return False
    if source.engine not in ENFORCED_DECIMALS:
        return False
    if source.engine == "postgres" and target.engine != "postgres":
        return False  # NaN
    if target.precision is None:
        return target.scale is None  # unconstrained numeric
    if source.precision is None:
        return False
    scale, room = source.scale or 0, source.precision - (source.scale or 0)
    return scale <= (target.scale or 0) and room <= target.precision - (target.scale or 0)
