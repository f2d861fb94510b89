"""Bounded regular expressions for SQLite: `mobo_match`/`mobo_imatch` (PostgreSQL's `~`, `~*`).

The compiler checks a pattern with `check_pattern` before the SQL runs, so a pattern
PostgreSQL would refuse is refused on every table, empty ones included.

Python's `re` has no time limit: one pattern such as `(a|aa)+$` could hold a gateway
thread for minutes. Patterns run in the `regex` package instead (VERSION0, `re`'s syntax),
with a time limit per value and a budget per statement, releasing the GIL while they run.
Compiling is bounded too: `regex` unrolls counted repeats, so `((a{100}){100}){100}` would
take gigabytes. As PostgreSQL does, a count above 255 is an invalid repetition count and
a pattern too big once unrolled is "too complex".

sqlite3 replaces whatever a SQL function raises with OperationalError "user-defined
function raised exception". The function keeps the board's error in a thread-local slot
(SQLite calls it on the thread that runs the statement) and the adapter's `_translate`
takes it from there: every failure is a 400 with SQLSTATE `2201B`, as on PostgreSQL.
"""

from __future__ import annotations

import functools
import threading
import time
import warnings
from collections.abc import Iterator
from re import _parser  # type: ignore[attr-defined]  # private: typeshed has no stub for it

import regex

from mobo.exceptions import QueryError

CALL_LIMIT_S = 0.1  # one value against one pattern
STATEMENT_LIMIT_S = 2.0  # every value of one statement together (about 1M cheap matches)
MAX_COUNT = 255  # PostgreSQL's largest `{m,n}` bound (RE_DUP_MAX)
MAX_UNITS = 10_000  # pattern size with counted repeats unrolled (about 1.5 MB compiled)
CACHE_SIZE = 64  # compiled patterns kept per process
INVALID = "2201B"  # PostgreSQL's invalid_regular_expression
UDF_RAISED = "user-defined function raised exception"
# `re.compile`'s own parser sizes the pattern before `regex` sees it
REPEATS = (_parser.MAX_REPEAT, _parser.MIN_REPEAT, _parser.POSSESSIVE_REPEAT)
SLOW_HINT = (
    "Simplify the pattern: avoid nested or overlapping repetition such as (a+)+ or (a|aa)*, "
    "anchor it, or narrow the rows with other filters."
)


class _Statement(threading.local):
    """What the regular expressions of the statement running on this thread have used."""

    def __init__(self) -> None:
        self.left_s = STATEMENT_LIMIT_S
        self.failure: QueryError | None = None


_STATEMENT = _Statement()
# `re`'s parser, sizing a pattern, warns that `[[:alpha:]]` may one day mean something
# else to `re`; the pattern runs in `regex`, where it is a POSIX class as on PostgreSQL
warnings.filterwarnings("ignore", "Possible nested set", FutureWarning)


def start_statement() -> None:
    """Give the next statement on this thread a full budget and no failure."""
    _STATEMENT.left_s = STATEMENT_LIMIT_S
    _STATEMENT.failure = None


def take_failure(exc: BaseException) -> QueryError | None:
    """Return (once) the error behind `exc` if it is a regex function's failure."""
    failure, _STATEMENT.failure = _STATEMENT.failure, None
    return failure if str(exc) == UDF_RAISED else None


def match(value: object, pattern: object) -> int | None:
    """SQL `value ~ pattern` (a regular expression found anywhere in the value)."""
    return _search("match", value, pattern, 0)


def imatch(value: object, pattern: object) -> int | None:
    """SQL `value ~* pattern`, ignoring case."""
    return _search("imatch", value, pattern, regex.IGNORECASE)


def _search(op: str, value: object, pattern: object, flags: int) -> int | None:
    if value is None or pattern is None:
        return None
    try:
        return int(_found(_compile(str(pattern), flags), str(value)))
    except QueryError as exc:
        _STATEMENT.failure = exc
        raise
    except TimeoutError:
        _STATEMENT.failure = _too_slow(op, str(pattern))
        raise


def _found(compiled: regex.Pattern[str], value: str) -> bool:
    limit = min(CALL_LIMIT_S, _STATEMENT.left_s)
    if limit <= 0:
        raise TimeoutError("regex statement budget spent")
    start = time.monotonic()
    try:
        return compiled.search(value, timeout=limit, concurrent=True) is not None
    finally:
        _STATEMENT.left_s -= time.monotonic() - start


def check_pattern(pattern: str) -> None:
    """Raise QueryError 2201B for a pattern that is invalid or too big to compile."""
    _compile(pattern, 0)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compile(pattern: str, flags: int) -> regex.Pattern[str]:
    """Compile a pattern once, refusing one that is invalid or too big to compile."""
    try:
        units = _units(_parser.parse(pattern))
        if units > MAX_UNITS:
            raise _invalid("regular expression is too complex")
        return regex.compile(pattern, flags | regex.VERSION0)
    except (regex.error, _parser.error, RecursionError, OverflowError, ValueError) as exc:
        raise _invalid(str(exc)) from None


def _units(pattern: _parser.SubPattern) -> int:
    """Return the pattern's size with every counted repeat unrolled, as `regex` does."""
    total = 0
    for op, av in pattern:
        size = sum(_units(sub) for sub in _subpatterns(av)) or 1
        if op in REPEATS:
            low, high = av[0], av[1]
            count = low if high == _parser.MAXREPEAT else high
            if count > MAX_COUNT:
                raise _invalid("invalid repetition count(s)")
            size *= max(count, 1)
        total += size
    return total


def _subpatterns(av: object) -> Iterator[_parser.SubPattern]:
    if isinstance(av, _parser.SubPattern):
        yield av
    elif isinstance(av, tuple | list):
        for item in av:
            yield from _subpatterns(item)


def _invalid(reason: str) -> QueryError:
    return QueryError(f"invalid regular expression: {reason}", code=INVALID)


def _too_slow(op: str, pattern: str) -> QueryError:
    spent = "over all rows" if _STATEMENT.left_s <= 0 else "on one value"
    limit = STATEMENT_LIMIT_S if _STATEMENT.left_s <= 0 else CALL_LIMIT_S
    return QueryError(
        f"regular expression of the {op} filter took too long; simplify the pattern",
        code=INVALID,
        details=f"the pattern {pattern!r} ran for more than {limit:g} s {spent}",
        hint=SLOW_HINT,
    )
