"""Compiled Selects cached by the query's shape: the adapter's hot path.

The SQL of a Select depends only on its shape (table, columns, the filter tree without
its values, order, whether it pages), never on its values: that is what keeps values out
of the SQL. So the SQL, the value encoders and the row decoders are built once per shape
and schema; a later Select of the same shape only walks its filter for the values,
encodes them and runs. A plan's row builder is generated code (`compiled()`); on
PostgreSQL a second one takes rows whose dates and times were loaded as the server's own
text and respells them as `isoformat()` would (`RowShape.text_build`). Names
were resolved against the schema when the plan was built, and a plan is dropped with the
schema it was built for (`refresh_schema()`).

Selects using JSON paths, aggregates, (any)/(all) or the operators beyond the basic
comparisons are compiled afresh each time (`Plans.one_off`): their bound JSON keys and
configurations sit between the values, which the cached shapes do not track.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from operator import attrgetter
from typing import Any

from .compiler import Compiler, Output, like_pattern
from .query import And, Column, Cond, Filter, Not, Op, Or, Order, Select
from .schema import Table
from .values import RESPELL_ISO

MAX_PLANS = 512  # shapes kept per adapter; the cache starts over when it is full
CACHED_OPS = frozenset(
    {Op.EQ, Op.NEQ, Op.GT, Op.GTE, Op.LT, Op.LTE, Op.LIKE, Op.ILIKE, Op.IN, Op.IS}
)
PLAIN_OPS = CACHED_OPS - {Op.IN, Op.IS}  # one value each, and a shape of three fields


class Uncached(Exception):
    """A Select whose shape the cache does not key (see the module docstring)."""


Encoder = Callable[[object], object]
Decoder = Callable[[object], object]
RowsBuilder = Callable[[Sequence[Sequence[Any]]], list[dict[str, Any]]]
# the parts of a column or an order term that make its SQL: compared as plain tuples in
# a plan's key (a dataclass's own hash and == are Python calls on every lookup)
COLUMN_KEY = attrgetter(*(f.name for f in fields(Column)))
ORDER_KEY = attrgetter(*(f.name for f in fields(Order)))


@dataclass(frozen=True, slots=True)
class RowShape:
    """How a driver row becomes a result row: its keys, and the columns to convert.

    `build`, made for cached plans (`compiled()`), does the same in one comprehension."""

    keys: tuple[str, ...]
    special: tuple[tuple[str, int, Decoder], ...]  # (key, position, decode)
    build: RowsBuilder | None = field(default=None, compare=False, repr=False)
    # the same for rows whose dates and times a reader loaded as the engine's own text
    # (PostgreSQL's plain-read cursor): None when the plan cannot be read that way
    text_build: RowsBuilder | None = field(default=None, compare=False, repr=False)

    def rows(self, fetched: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        """Return driver rows as dicts of JSON-friendly values."""
        build = self.build
        if build is not None:
            return build(fetched)
        keys = self.keys  # as long as every row: zip(strict=True) would cost 40 % more
        rows = [dict(zip(keys, row)) for row in fetched]  # noqa: B905
        for key, _, decode in self.special:
            for row in rows:
                row[key] = decode(row[key])
        return rows


def row_shape(compiler: Compiler, outputs: Sequence[Output]) -> RowShape:
    """Build the RowShape of a statement's outputs for the compiler's dialect."""
    codec = compiler.dialect.codec
    last = {output.key: index for index, output in enumerate(outputs)}  # a dict keeps the last
    special = []
    for index, output in enumerate(outputs):
        decode = codec.decoder(output.column)
        if decode is not None and last[output.key] == index:
            special.append((output.key, index, decode))
    return RowShape(tuple(o.key for o in outputs), tuple(special))


Respell = Callable[[str], str]


def text_spellings(
    compiler: Compiler, outputs: Sequence[Output]
) -> tuple[Respell | None, ...] | None:
    """Return, per output, how to respell it when read as the engine's text (None: as read).

    None when the dialect has no such reader, or an output may hold dates or times the
    row builder cannot see (a cast, an array, a type of the engine's own)."""
    kinds = compiler.dialect.codec.TEXT_READ_KINDS
    if not kinds or any(o.column is None or o.column.kind not in kinds for o in outputs):
        return None
    return tuple(RESPELL_ISO.get(o.column.kind) for o in outputs)  # type: ignore[union-attr]


def compiled(shape: RowShape, spellings: Sequence[Respell | None] | None = None) -> RowShape:
    """Return `shape` with a `build` function: a dict display per row, about twice as fast.

    With `spellings` (`text_spellings()`), also a `text_build` that respells those
    columns (values.RESPELL_ISO) as it builds the rows. The generated source holds only
    generated names (k0, r0, d0, ...): the keys, decoders and respellings are passed in
    as closure values, never written into it. Costs ~50 µs, once per cached plan."""
    if not shape.keys:
        return shape
    decoders = {index: decode for _, index, decode in shape.special}
    build = _builder(shape.keys, decoders, {})
    text_build = None
    if spellings is not None:
        respell = {i: f for i, f in enumerate(spellings) if f is not None and i not in decoders}
        text_build = _builder(shape.keys, decoders, respell)
    return replace(shape, build=build, text_build=text_build)


def _builder(
    keys: Sequence[str], decoders: dict[int, Decoder], respell: dict[int, Respell]
) -> RowsBuilder:
    """Generate `rows -> [{k0: r0, k1: d1(r1), k2: (None if r2 is None else s2(r2))}, …]`."""
    items = []
    for i in range(len(keys)):
        if i in decoders:
            items.append(f"k{i}: d{i}(r{i})")
        elif i in respell:
            items.append(f"k{i}: (None if r{i} is None else s{i}(r{i}))")
        else:
            items.append(f"k{i}: r{i}")
    names = ", ".join(f"r{i}" for i in range(len(keys)))
    params = [f"k{i}" for i in range(len(keys))]
    params += [f"d{i}" for i in decoders] + [f"s{i}" for i in respell]
    source = (
        f"def make({', '.join(params)}):\n"
        f"    return lambda fetched: [{{{', '.join(items)}}} for ({names},) in fetched]\n"
    )
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # noqa: S102 - only generated names: no key, value or SQL
    build: RowsBuilder = namespace["make"](*keys, *decoders.values(), *respell.values())
    return build


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled Select: its SQL, one encoder per filter value, its row shape.

    `passes`: the value types every encoder hands back unchanged, bound as they are."""

    sql: str
    count_sql: str | None
    encoders: tuple[Encoder, ...]
    shape: RowShape
    passes: frozenset[type] = frozenset()

    def encoded(self, values: list[object]) -> list[object]:
        """Return `values` (from `shape_of`) encoded as bound parameters."""
        return [encode(value) for encode, value in zip(self.encoders, values)]  # noqa: B905


class Plans:
    """Plans for one schema in one dialect, by query shape."""

    def __init__(self, compiler: Compiler) -> None:
        self.compiler = compiler
        self._plans: dict[tuple[object, ...], Plan] = {}

    def select(self, query: Select) -> tuple[Plan, tuple[object, ...], tuple[object, ...]]:
        """Return the plan of a Select with its parameters and its count's parameters."""
        values: list[object] = []
        try:
            where = shape_of(query.where, values)
        except Uncached:
            return self.one_off(query)
        columns, order = query.columns, query.order
        key = (
            query.table,
            tuple(map(COLUMN_KEY, columns)) if columns else (),
            where,
            tuple(map(ORDER_KEY, order)) if order else (),
            query.limit is None,
            query.offset is None,
            query.count,
        )
        plan = self._plans.get(key)
        if plan is None:
            # the key holds JSON paths and aggregates, so such a Select never finds a plan
            if _special_columns(query):
                return self.one_off(query)
            plan = self._build(query, len(values))
            if len(self._plans) >= MAX_PLANS:
                self._plans.clear()
            self._plans[key] = plan
        # values of types every encoder hands back unchanged are bound as they are
        params = values if plan.passes.issuperset(map(type, values)) else plan.encoded(values)
        count = tuple(params) if query.count else ()
        if query.limit is not None:
            params.append(query.limit)
        if query.offset is not None:
            params.append(query.offset)
        return plan, tuple(params), count

    def one_off(self, query: Select) -> tuple[Plan, tuple[object, ...], tuple[object, ...]]:
        """Compile a Select without caching it: its plan, parameters and count's parameters."""
        compiler = self.compiler
        statement = compiler.select(query)  # checks every name first
        count = compiler.count(query) if query.count else None
        shape = row_shape(compiler, statement.outputs)
        plan = Plan(statement.sql, None if count is None else count.sql, (), shape)
        return plan, statement.params, () if count is None else count.params

    def _build(self, query: Select, n_values: int) -> Plan:
        compiler = self.compiler
        statement = compiler.select(query)  # checks every name first
        table = compiler.schema.table(query.table)
        binds = self._encoders(table, query.where)
        encoders = tuple(encode for encode, _ in binds)
        passes = frozenset.intersection(*(types for _, types in binds)) if binds else frozenset()
        paging = (query.limit is not None) + (query.offset is not None)
        if len(statement.params) != len(encoders) + paging or n_values != len(encoders):
            raise AssertionError("plan parameters out of step with the compiler's")
        count_sql = compiler.count(query).sql if query.count else None
        outputs = statement.outputs
        shape = compiled(row_shape(compiler, outputs), text_spellings(compiler, outputs))
        return Plan(statement.sql, count_sql, encoders, shape, passes)

    def _encoders(self, table: Table, node: Filter | None) -> list[tuple[Encoder, frozenset[type]]]:
        """List one encoder per bound value, in the order the compiler binds them, with
        the value types it hands back unchanged."""
        if node is None:
            return []
        if isinstance(node, Not):
            return self._encoders(table, node.node)
        if not isinstance(node, Cond):
            return [e for child in node.nodes for e in self._encoders(table, child)]
        if node.op is Op.IS:
            return []
        if node.op in (Op.LIKE, Op.ILIKE):
            return [(like_pattern, frozenset())]
        codec, column = self.compiler.dialect.codec, table.column(node.column)
        bind = (codec.filter_encoder(column), codec.filter_passes(column))
        if node.op is Op.IN:
            assert isinstance(node.value, tuple)
            return [bind] * len(node.value)
        return [bind]


def shape_of(node: Filter | None, values: list[object]) -> object:
    """Return the shape of a filter tree (hashable) and append its values to `values`."""
    if node is None:
        return None
    if type(node) is Cond:
        op = node.op
        if op in PLAIN_OPS and node.json is None and node.modifier is None:
            values.append(node.value)
            return (node.column, op, node.negate)
        return _cond_shape(node, values)
    if type(node) is And or type(node) is Or:
        shapes: list[object] = ["and" if type(node) is And else "or"]
        for child in node.nodes:
            if type(child) is Cond:  # the common case, without a call per level
                op = child.op
                if op in PLAIN_OPS and child.json is None and child.modifier is None:
                    values.append(child.value)
                    shapes.append((child.column, op, child.negate))
                    continue
            shapes.append(shape_of(child, values))
        return tuple(shapes)
    if isinstance(node, Not):
        return ("not", shape_of(node.node, values))
    assert isinstance(node, And | Or)  # a subclass
    tag = "and" if isinstance(node, And) else "or"
    return (tag, *[shape_of(child, values) for child in node.nodes])


def _cond_shape(node: Cond, values: list[object]) -> object:
    op = node.op
    if node.json is not None or node.modifier is not None or op not in CACHED_OPS:
        raise Uncached
    if op is Op.IS:
        return (node.column, op, node.negate, node.value)
    if op is Op.IN:
        assert isinstance(node.value, tuple)
        values.extend(node.value)
        return (node.column, op, node.negate, len(node.value))
    values.append(node.value)
    return (node.column, op, node.negate)


def _special_columns(query: Select) -> bool:
    """Say whether a Select's columns or order use JSON paths or aggregates."""
    columns = query.columns
    if columns and any(c.json is not None or c.aggregate is not None for c in columns):
        return True
    return any(o.json is not None for o in query.order)
