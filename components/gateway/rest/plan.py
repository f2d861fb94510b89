"""A read plan: what `select=` asks of each table, embeds resolved to relationships.

    GET /authors?select=name,books(title)&books.order=title&books.limit=2

    Level(authors, columns=(name, \\0k0:id), outputs=[name, books],
          embeds=[Embed(books, one-to-many authors(id) -> books(author_id),
                        Level(books, columns=(title, \\0k0:author_id), order=title, limit=2))])

Each level selects its output columns plus, under private aliases, the key columns its
parent or its own embeds are stitched by (removed from the output). Filters, orders and
pages of the request are attached to the level their embed path names; a path naming no
embed is PGRST108. `embed=not.is.null` (or `!inner`) makes an embed filter its parents,
`embed=is.null` keeps the parents without one (an anti-join).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from components.datastore import query as q
from components.datastore.schema import Kind, Schema, Table
from components.gateway.postgrest import errors as parse_errors
from components.gateway.postgrest.filters import Filter, Node
from components.gateway.postgrest.grammar import EmbedPath
from components.gateway.postgrest.params import OrderTerm
from components.gateway.postgrest.ranges import Page
from components.gateway.postgrest.request import ParsedRequest
from components.gateway.postgrest.select import Embed, Field, Item
from components.gateway.postgrest.to_query import column as compile_column
from components.gateway.postgrest.to_query import json_path
from components.gateway.postgrest.to_query import where as compile_where
from components.gateway.rest import errors, numbers, relations
from components.gateway.rest.relations import Relationship

PRIVATE = "\x00"  # starts every alias the gateway adds; never in a client's output
DECIMAL_CASTS = frozenset({"numeric", "decimal"})


@dataclass(slots=True)
class Output:
    """One key of an output row: a column, an embed, or a spread embed's columns."""

    key: str
    embed: EmbedPlan | None = None
    decimal: bool = False


@dataclass(slots=True)
class Level:
    """One table's part of the request."""

    table: Table
    columns: list[q.Column] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    embeds: list[EmbedPlan] = field(default_factory=list)
    where: q.Filter | None = None
    order: tuple[q.Order, ...] = ()
    page: Page = field(default_factory=Page)
    keys: dict[str, str] = field(default_factory=dict)  # column -> private alias

    def key_aliases(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """Return the private aliases of `names`, selecting the ones not yet selected."""
        for name in names:
            if name not in self.keys:
                self.table.column(name)
                alias = f"{PRIVATE}k{len(self.keys)}"
                self.keys[name] = alias
                self.columns.append(q.Column(name, alias))
        return tuple(self.keys[name] for name in names)

    @property
    def decimals(self) -> bool:
        """Say whether any output of this level or below renders an exact number."""
        return any(o.decimal for o in self.outputs) or any(e.level.decimals for e in self.embeds)


@dataclass(slots=True)
class EmbedPlan:
    """An embedded resource: its relationship, its level, and how it joins."""

    key: str  # output key: the alias, else the relation's name
    relation: str
    rel: Relationship
    level: Level
    slot: str  # where attach() leaves the stitched value in a parent row
    parent_keys: tuple[str, ...] = ()
    child_keys: tuple[str, ...] = ()
    join: str | None = None  # "inner" | "anti" | None
    spread: bool = False
    empty: bool = False  # `x()`: selects nothing, only filters

    def names(self) -> tuple[str, ...]:
        return (self.key, self.relation)


Visible = Callable[[str], bool]
Lookup = Callable[[str], Table]


def build(
    schema: Schema,
    table: Table,
    request: ParsedRequest,
    lookup: Lookup,
    visible: Visible,
    engine: str = "",
) -> Level:
    """Return the plan of a request's `select=`, filters, orders and pages."""
    root = _level(schema, table, request.select, lookup, visible)
    for path, nodes in request.filters.items():
        level = _find(root, path)
        _attach_filters(level, nodes)
        numbers.check(engine, level.table, level.where)
    for path, terms in request.order.items():
        _find(root, path).order = orders(terms)
    for path, page in request.pages.items():
        if path:
            _find(root, path).page = page
    return root


def _level(
    schema: Schema, table: Table, items: tuple[Item, ...], lookup: Lookup, visible: Visible
) -> Level:
    level = Level(table)
    for item in items:
        if isinstance(item, Embed):
            _embed(schema, level, item, lookup, visible)
        else:
            for column in _fields(table, item):
                level.columns.append(column)
                level.outputs.append(Output(column.key, decimal=_decimal(table, column)))
    if level.embeds and any(c.aggregate is not None for c in level.columns):
        # the embeds' key columns would join the GROUP BY and split the groups
        raise errors.not_implemented("aggregates next to embedded resources at the same level")
    if not level.columns:  # `select=books(*)` alone: the SELECT still needs a column
        level.key_aliases(table.primary_key[:1] or (table.columns[0].name,))
    return level


def _fields(table: Table, item: Field) -> list[q.Column]:
    if item.star:
        return [q.Column(c.name) for c in table.columns]
    column = compile_column(item)  # JSON paths and aggregates (enabled: parse_request)
    if column.name != "*":
        table.column(column.name)  # UnknownIdentifier (42703) before any SQL
    return [column]


def _decimal(table: Table, column: q.Column) -> bool:
    """Say whether an output is an exact number to write bare into JSON."""
    if column.aggregate_cast is not None:
        return column.aggregate_cast.lower() in DECIMAL_CASTS
    if column.aggregate in ("sum", "avg"):  # numeric on PostgreSQL, DECIMAL on MySQL
        return True
    if column.aggregate == "count":
        return False
    if column.cast is not None:
        return column.cast.lower() in DECIMAL_CASTS
    return column.json is None and table.column(column.name).kind is Kind.DECIMAL


def _embed(schema: Schema, level: Level, item: Embed, lookup: Lookup, visible: Visible) -> None:
    rel = relations.find(schema, level.table, item.relation, item.hint, visible)
    if item.spread and not rel.to_one:
        raise errors.not_implemented(f"spreading a to-many relationship ({item.relation})")
    child = _level(schema, lookup(rel.target), item.items, lookup, visible)
    embed = EmbedPlan(
        key=item.alias or item.relation,
        relation=item.relation,
        rel=rel,
        level=child,
        slot=f"{PRIVATE}e{len(level.embeds)}",
        join="inner" if item.join == "inner" else None,
        spread=item.spread,
        empty=not item.items,
    )
    embed.parent_keys = level.key_aliases(rel.columns)
    embed.child_keys = child.key_aliases(rel.target_columns)
    level.embeds.append(embed)
    if not embed.empty or embed.spread:
        level.outputs.append(Output(embed.key, embed))


def _find(root: Level, path: EmbedPath) -> Level:
    level = root
    for name in path:
        found = next((e for e in level.embeds if name in e.names()), None)
        if found is None:
            raise parse_errors.not_embedded(name)
        level = found.level
    return level


def _attach_filters(level: Level, nodes: tuple[Node, ...]) -> None:
    """Compile a level's filters; `embed=[not.]is.null` sets how that embed joins."""
    kept = []
    for node in nodes:
        embed = _null_test(level, node)
        if embed is None:
            kept.append(compile_where(node))
            continue
        assert isinstance(node, Filter)
        wants_null = (node.value == "null") != node.negate
        embed.join = "anti" if wants_null else "inner"
    level.where = None if not kept else kept[0] if len(kept) == 1 else q.And(tuple(kept))


def _null_test(level: Level, node: Node) -> EmbedPlan | None:
    if not isinstance(node, Filter) or node.path.json or node.op != "is":
        return None
    if node.value not in ("null", "not_null"):
        return None
    return next((e for e in level.embeds if node.path.name in e.names()), None)


def orders(terms: tuple[OrderTerm, ...]) -> tuple[q.Order, ...]:
    """Compile one level's `order=` terms (columns or JSON paths)."""
    compiled = []
    for term in terms:
        if term.relation is not None:
            raise errors.not_implemented(f"ordering by {term.relation}(...) is not supported yet")
        path = json_path(term.path)
        compiled.append(q.Order(term.path.name, term.desc, term.nulls, path))
    return tuple(compiled)
