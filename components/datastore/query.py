"""The neutral query model: what the gateway compiles a PostgREST request into.

Queries name tables and columns as plain strings; adapters check every name against the
introspected schema before building SQL, and bind every value as a parameter. Sequences
may be given as lists; they are stored as tuples, and nothing changes a query once it is
built. The classes are plain slotted dataclasses, not frozen: a frozen dataclass's
`__init__` costs four times as much, 4 % of a primary-key read (bench/RESULTS.md,
2026-12-08); only `JsonPath`, which plans hash as part of their keys, is frozen.
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
    """A comparison a `Cond` makes; the names are PostgREST's operators.

    The one list of operators: the gateway's PostgREST parser reads its operator words
    and their properties (`QUANTIFIABLE`, `FTS_OPS`) from here."""

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
    MATCH = "match"  # POSIX regular expression (~)
    IMATCH = "imatch"  # case-insensitive (~*)
    ISDISTINCT = "isdistinct"  # IS DISTINCT FROM: a null-safe <>
    FTS = "fts"  # full-text search: @@ to_tsquery (PostgreSQL)
    PLFTS = "plfts"  # plainto_tsquery
    PHFTS = "phfts"  # phraseto_tsquery
    WFTS = "wfts"  # websearch_to_tsquery
    CS = "cs"  # contains (@>): arrays, ranges, JSON
    CD = "cd"  # contained in (<@)
    OV = "ov"  # overlaps (&&)
    SL = "sl"  # strictly left of (<<): ranges
    SR = "sr"  # strictly right of (>>)
    NXR = "nxr"  # does not extend to the right of (&<)
    NXL = "nxl"  # does not extend to the left of (&>)
    ADJ = "adj"  # is adjacent to (-|-)


class Resolution(StrEnum):
    """What an upsert does with a row that collides with an existing one."""

    MERGE = "merge"  # Prefer: resolution=merge-duplicates
    IGNORE = "ignore"  # Prefer: resolution=ignore-duplicates


OPS: dict[object, Op] = {op.value: op for op in Op}  # an Op hashes and compares as its value
IS_VALUES: dict[object, str] = {None: "null", True: "true", False: "false"}
IS_WORDS = frozenset({"null", "true", "false", "unknown"})
FTS_OPS = frozenset({Op.FTS, Op.PLFTS, Op.PHFTS, Op.WFTS})
# `eq(any)`, `like(all)`: the comparison with ANY/ALL of a list of values; PostgREST's
# quantifiable operators, so not neq (`neq(any)` is a parse error there)
QUANTIFIABLE = frozenset(
    {Op.EQ, Op.GT, Op.GTE, Op.LT, Op.LTE, Op.LIKE, Op.ILIKE, Op.MATCH, Op.IMATCH}
)
MODIFIERS = frozenset({"any", "all"})
AGGREGATES = frozenset({"count", "sum", "avg", "max", "min"})


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A path into a JSON (or array) column: `data->a->0->>b` is keys ("a", 0, "b"), text.

    A str key names an object member, an int an array position (negative: from the end).
    `text` is PostgREST's `->>` as the last step: the value as text; otherwise the value
    stays JSON (`->`). Keys reach the SQL only as bound parameters.
    """

    keys: tuple[str | int, ...]
    text: bool = False

    def __post_init__(self) -> None:
        keys = tuple(self.keys)
        if not keys or any(isinstance(k, bool) or not isinstance(k, str | int) for k in keys):
            raise QueryError("a JSON path is one or more keys (text) or indexes (integers)")
        object.__setattr__(self, "keys", keys)

    @property
    def last(self) -> str:
        """Return the name PostgREST gives the value in output: the last key."""
        return str(self.keys[-1])


@dataclass(slots=True)
class Cond:
    """`column op value`, negated when `negate` (PostgREST's `not.` prefix).

    `json` compares a value inside a JSON column instead of the column; `modifier`
    ("any"/"all") compares with ANY/ALL of `value`, a list; `config` is the text search
    configuration of the full-text operators (`fts(french)`)."""

    column: str
    op: Op
    value: object = None
    negate: bool = False
    json: JsonPath | None = None
    modifier: str | None = None
    config: str | None = None

    def __post_init__(self) -> None:
        try:  # a dict lookup: Op(...) costs as much as the rest of a Cond
            op = OPS.get(self.op)
        except TypeError:  # unhashable
            op = None
        if op is None:
            raise QueryError(f"unknown operator {self.op!r}", code="PGRST100")
        if op is not self.op:
            self.op = op
        if op is Op.IN:
            if isinstance(self.value, str | bytes) or not isinstance(self.value, Sequence):
                raise QueryError("the in operator takes a list of values", code="PGRST100")
            self.value = tuple(self.value)
        elif op is Op.IS:
            self.value = _is_word(self.value)
        if self.modifier is not None or self.config is not None:
            self._check_extras(op)

    def _check_extras(self, op: Op) -> None:
        if self.modifier is not None:
            if self.modifier not in MODIFIERS or op not in QUANTIFIABLE:
                raise QueryError(
                    f"{op}({self.modifier}) is not an operator: (any)/(all) go with "
                    "eq, gt, gte, lt, lte, like, ilike, match, imatch",
                    code="PGRST100",
                )
            if isinstance(self.value, str | bytes) or not isinstance(self.value, Sequence):
                raise QueryError(f"{op}({self.modifier}) takes a list of values", code="PGRST100")
            self.value = tuple(self.value)
        if self.config is not None and (op not in FTS_OPS or not isinstance(self.config, str)):
            message = "only fts, plfts, phfts and wfts take a configuration"
            raise QueryError(message, code="PGRST100")


def _is_word(value: object) -> str:
    word = IS_VALUES.get(value, value) if not isinstance(value, str) else value.lower()
    if word not in IS_WORDS:
        raise QueryError(f"is takes null, true, false or unknown, not {value!r}", code="PGRST100")
    return str(word)


@dataclass(slots=True)
class And:
    """Every node holds (empty: true)."""

    nodes: tuple[Filter, ...]

    def __post_init__(self) -> None:
        if type(self.nodes) is not tuple:
            self.nodes = tuple(self.nodes)


@dataclass(slots=True)
class Or:
    """At least one node holds (empty: false)."""

    nodes: tuple[Filter, ...]

    def __post_init__(self) -> None:
        if type(self.nodes) is not tuple:
            self.nodes = tuple(self.nodes)


@dataclass(slots=True)
class Not:
    """The node does not hold."""

    node: Filter


Filter = Cond | And | Or | Not


@dataclass(slots=True)
class Column:
    """An output column: `alias:name->json::cast` in PostgREST's select grammar.

    `aggregate` (count, sum, avg, max, min) makes it an aggregate: the Select is then
    grouped by its other columns. `cast` applies to the column before aggregating
    (`amount::numeric.sum()`), `aggregate_cast` to the aggregate (`amount.avg()::int`).
    `count()` without a column is `Column("*", aggregate="count")`.
    """

    name: str
    alias: str | None = None
    cast: str | None = None
    json: JsonPath | None = None
    aggregate: str | None = None
    aggregate_cast: str | None = None

    def __post_init__(self) -> None:
        if self.aggregate is not None and self.aggregate not in AGGREGATES:
            raise QueryError(f"unknown aggregate {self.aggregate!r}", code="PGRST100")
        if self.name == "*" and (self.aggregate != "count" or self.json or self.cast):
            raise QueryError("'*' is a column only in count()", code="PGRST100")

    @property
    def key(self) -> str:
        """Return the key this column has in result rows."""
        if self.alias:
            return self.alias
        if self.aggregate:
            return self.aggregate
        return self.json.last if self.json is not None else self.name


@dataclass(slots=True)
class Order:
    """One ORDER BY term; `nulls=None` means PostgreSQL's default (last asc, first desc)."""

    column: str
    desc: bool = False
    nulls: Literal["first", "last"] | None = None
    json: JsonPath | None = None

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


@dataclass(slots=True)
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
            self.columns = _columns(self.columns) or ()
        elif self.columns != ():
            self.columns = ()
        if type(self.order) is not tuple:
            self.order = tuple(self.order)
        limit, offset = self.limit, self.offset
        if limit is not None and (limit.__class__ is not int or limit < 0):
            _count("limit", limit)  # refuses it
        if offset is not None and (offset.__class__ is not int or offset < 0):
            _count("offset", offset)


@dataclass(slots=True)
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
        self.rows = rows
        if self.on_conflict is not None:
            self.on_conflict = tuple(self.on_conflict)
        if self.resolution is not None:
            self.resolution = Resolution(self.resolution)
        self.returning = _columns(self.returning)


@dataclass(slots=True)
class Update:
    """Set `values` on every row matching `where` (every row when None)."""

    table: str
    values: Mapping[str, object]
    where: Filter | None = None
    returning: tuple[Column, ...] | None = None

    def __post_init__(self) -> None:
        self.returning = _columns(self.returning)


@dataclass(slots=True)
class Delete:
    """Delete every row matching `where` (every row when None)."""

    table: str
    where: Filter | None = None
    returning: tuple[Column, ...] | None = None

    def __post_init__(self) -> None:
        self.returning = _columns(self.returning)


Query = Select | Insert | Update | Delete
Write = Insert | Update | Delete


def filter_columns(node: Filter | None) -> Iterator[str]:
    """Yield every column name a filter tree refers to."""
    if isinstance(node, Cond):
        yield node.column
    elif isinstance(node, And | Or):
        for child in node.nodes:
            yield from filter_columns(child)
    elif isinstance(node, Not):
        yield from filter_columns(node.node)


def aggregated(query: Query) -> bool:
    """Say whether a Select has aggregate columns (and so is grouped by the others)."""
    return any(c.aggregate is not None for c in getattr(query, "columns", ()))


def referenced_columns(query: Query) -> Iterator[str]:
    """Yield every column name a query refers to, in the order it mentions them."""
    yield from (c.name for c in getattr(query, "columns", ()) if c.name != "*")
    yield from (c.name for c in getattr(query, "returning", None) or ())
    yield from filter_columns(getattr(query, "where", None))
    yield from (o.column for o in getattr(query, "order", ()))
    if isinstance(query, Insert):
        yield from (query.rows[0] if query.rows else ())
        yield from query.on_conflict or ()
    if isinstance(query, Update):
        yield from query.values
