"""The neutral query model: what the gateway compiles a PostgREST request into.

Queries name tables and columns as plain strings; adapters check every name against the
introspected schema before building SQL, and bind every value as a parameter. Sequences
may be given as lists; they are stored as tuples so a query is an immutable value.
An empty `columns`/`returning` tuple means "every column"; `returning=None` means none.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from mobo.exceptions import QueryError

ALL: tuple[Column, ...] = ()  # `returning=ALL`: every column of the table


class Op(StrEnum):
    """A comparison a `Cond` makes; the names are PostgREST's operators."""

    EQ = "eq"
    NEQ = "neq"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    LIKE = "like"  # SQL pattern (% and _, backslash escapes); the gateway maps * to %
    ILIKE = "ilike"
    IN = "in"
    IS = "is"  # value: None/"null", True/"true", False/"false", "unknown"


class Resolution(StrEnum):
    """What an upsert does with a row that collides with an existing one."""

    MERGE = "merge"  # Prefer: resolution=merge-duplicates
    IGNORE = "ignore"  # Prefer: resolution=ignore-duplicates


OPS: dict[object, Op] = {op.value: op for op in Op}  # an Op hashes and compares as its value
IS_VALUES: dict[object, str] = {None: "null", True: "true", False: "false"}
IS_WORDS = frozenset({"null", "true", "false", "unknown"})


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True, slots=True)
class Cond:
    """`column op value`, negated when `negate` (PostgREST's `not.` prefix)."""

    column: str
    op: Op
    value: object = None
    negate: bool = False

    def __post_init__(self) -> None:
        try:  # a dict lookup: Op(...) costs as much as the rest of a Cond
            op = OPS.get(self.op)
        except TypeError:  # unhashable
            op = None
        if op is None:
            raise QueryError(f"unknown operator {self.op!r}", code="PGRST100")
        if op is not self.op:
            _set(self, "op", op)
        if op is Op.IN:
            if isinstance(self.value, str | bytes) or not isinstance(self.value, Sequence):
                raise QueryError("the in operator takes a list of values", code="PGRST100")
            _set(self, "value", tuple(self.value))
        elif op is Op.IS:
            _set(self, "value", _is_word(self.value))


def _is_word(value: object) -> str:
    word = IS_VALUES.get(value, value) if not isinstance(value, str) else value.lower()
    if word not in IS_WORDS:
        raise QueryError(f"is takes null, true, false or unknown, not {value!r}", code="PGRST100")
    return str(word)


@dataclass(frozen=True, slots=True)
class And:
    """Every node holds (empty: true)."""

    nodes: tuple[Filter, ...]

    def __post_init__(self) -> None:
        _set(self, "nodes", tuple(self.nodes))


@dataclass(frozen=True, slots=True)
class Or:
    """At least one node holds (empty: false)."""

    nodes: tuple[Filter, ...]

    def __post_init__(self) -> None:
        _set(self, "nodes", tuple(self.nodes))


@dataclass(frozen=True, slots=True)
class Not:
    """The node does not hold."""

    node: Filter


Filter = Cond | And | Or | Not


@dataclass(frozen=True, slots=True)
class Column:
    """An output column: `alias:name::cast` in PostgREST's select grammar."""

    name: str
    alias: str | None = None
    cast: str | None = None

    @property
    def key(self) -> str:
        """Return the key this column has in result rows."""
        return self.alias or self.name


@dataclass(frozen=True, slots=True)
class Order:
    """One ORDER BY term; `nulls=None` means PostgreSQL's default (last asc, first desc)."""

    column: str
    desc: bool = False
    nulls: Literal["first", "last"] | None = None

    def __post_init__(self) -> None:
        if self.nulls not in (None, "first", "last"):
            raise QueryError(f"nulls must be first or last, not {self.nulls!r}", code="PGRST100")


def _columns(value: Sequence[Column | str] | None) -> tuple[Column, ...] | None:
    if value is None:
        return None
    return tuple(c if isinstance(c, Column) else Column(c) for c in value)


def _count(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise QueryError(f"{name} must be an integer >= 0, not {value!r}", code="PGRST103")


@dataclass(frozen=True, slots=True)
class Select:
    """Read rows; `count=True` also returns the total of matching rows, ignoring paging."""

    table: str
    columns: tuple[Column, ...] = ()
    where: Filter | None = None
    order: tuple[Order, ...] = ()
    limit: int | None = None
    offset: int | None = None
    count: bool = False

    def __post_init__(self) -> None:
        if self.columns:
            _set(self, "columns", _columns(self.columns))
        elif self.columns != ():
            _set(self, "columns", ())
        if type(self.order) is not tuple:
            _set(self, "order", tuple(self.order))
        if self.limit is not None:
            _count("limit", self.limit)
        if self.offset is not None:
            _count("offset", self.offset)


@dataclass(frozen=True, slots=True)
class Insert:
    """Insert rows (all with the same keys); an upsert when `resolution` is set.

    `on_conflict` names the conflict target (default: the primary key); it must be the
    primary key or a unique index.
    """

    table: str
    rows: tuple[Mapping[str, object], ...]
    on_conflict: tuple[str, ...] | None = None
    resolution: Resolution | None = None
    returning: tuple[Column, ...] | None = None

    def __post_init__(self) -> None:
        rows = (self.rows,) if isinstance(self.rows, Mapping) else tuple(self.rows)
        if any(set(row) != set(rows[0]) for row in rows[1:]):
            raise QueryError("All object keys must match", code="PGRST102")
        _set(self, "rows", rows)
        if self.on_conflict is not None:
            _set(self, "on_conflict", tuple(self.on_conflict))
        if self.resolution is not None:
            _set(self, "resolution", Resolution(self.resolution))
        _set(self, "returning", _columns(self.returning))


@dataclass(frozen=True, slots=True)
class Update:
    """Set `values` on every row matching `where` (every row when None)."""

    table: str
    values: Mapping[str, object]
    where: Filter | None = None
    returning: tuple[Column, ...] | None = None

    def __post_init__(self) -> None:
        _set(self, "returning", _columns(self.returning))


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete every row matching `where` (every row when None)."""

    table: str
    where: Filter | None = None
    returning: tuple[Column, ...] | None = None

    def __post_init__(self) -> None:
        _set(self, "returning", _columns(self.returning))


Query = Select | Insert | Update | Delete


def filter_columns(node: Filter | None) -> Iterator[str]:
    """Yield every column name a filter tree refers to."""
    if isinstance(node, Cond):
        yield node.column
    elif isinstance(node, And | Or):
        for child in node.nodes:
            yield from filter_columns(child)
    elif isinstance(node, Not):
        yield from filter_columns(node.node)


def referenced_columns(query: Query) -> Iterator[str]:
    """Yield every column name a query refers to, in the order it mentions them."""
    yield from (c.name for c in getattr(query, "columns", ()))
    yield from (c.name for c in getattr(query, "returning", None) or ())
    yield from filter_columns(getattr(query, "where", None))
    yield from (o.column for o in getattr(query, "order", ()))
    if isinstance(query, Insert):
        yield from (query.rows[0] if query.rows else ())
        yield from query.on_conflict or ()
    if isinstance(query, Update):
        yield from query.values
