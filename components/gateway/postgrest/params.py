"""The query string: which parameter is what, and `order=`, `columns=`, `on_conflict=`.

    select                        first occurrence; `*` when absent
    columns, on_conflict          first occurrence
    [embed.]order                 last occurrence per level
    [embed.]limit, [embed.]offset last occurrence per level
    [embed.][not.]and, or         a logic tree
    anything else                 a filter; on GET/HEAD /rpc/fn, a function argument when
                                  its value does not parse as `op.value`

Errors come in PostgREST's order: order, logic trees, columns, select, filters,
on_conflict, then ranges.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from components.gateway.errors import ApiError
from components.gateway.postgrest.filters import (
    Node,
    parse_filter_key,
    parse_filter_value,
    parse_logic,
)
from components.gateway.postgrest.grammar import (
    CACHE_SIZE,
    ColumnPath,
    EmbedPath,
    Failure,
    Scanner,
    column_path,
    field_name,
    names,
    run,
)
from components.gateway.postgrest.ranges import Page, param_page
from components.gateway.postgrest.select import Item, parse_select

RESERVED = frozenset({"select", "columns", "on_conflict"})
EMBEDDABLE = frozenset({"order", "limit", "offset", "and", "or"})
_DIRECTIONS = ('"asc"', '"desc"', '"nullsfirst"', '"nullslast"')


@dataclass(frozen=True, slots=True)
class OrderTerm:
    """`path[.asc|.desc][.nullsfirst|.nullslast]`, or `relation(path)...` for a to-one embed."""

    path: ColumnPath
    desc: bool = False
    nulls: Literal["first", "last"] | None = None  # None: the engine's default
    relation: str | None = None


@dataclass(frozen=True, slots=True)
class QueryParams:
    """Every query parameter, parsed; mappings are keyed by embed path (`()`: the root)."""

    select: tuple[Item, ...]
    filters: dict[EmbedPath, tuple[Node, ...]]
    order: dict[EmbedPath, tuple[OrderTerm, ...]]
    pages: dict[EmbedPath, Page]
    columns: tuple[str, ...] | None
    on_conflict: tuple[str, ...] | None
    rpc_args: tuple[tuple[str, str], ...]


def last_word(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def parse_query(pairs: Iterable[tuple[str, str | None]], *, rpc_read: bool = False) -> QueryParams:
    """Parse a query string given as (key, value) pairs in order; None values are ignored."""
    params = [(k, v) for k, v in pairs if v is not None]
    first: dict[str, str] = {}
    for key, value in params:
        first.setdefault(key, value)
    order = {_level(k): parse_order(v) for k, v in params if last_word(k) == "order"}
    logic = [(i, *parse_logic(k, v)) for i, (k, v) in enumerate(params) if _is_logic(k)]
    columns = _columns(first["columns"], "columns") if "columns" in first else None
    select = parse_select(first.get("select", "*"))
    filters, args = _filters(params, rpc_read)
    on_conflict = first.get("on_conflict")
    return QueryParams(
        select=select,
        filters=_by_level(sorted(logic + filters, key=lambda entry: entry[0])),
        order=order,
        pages=_pages(params),
        columns=columns,
        on_conflict=None if on_conflict is None else _columns(on_conflict, "on_conflict"),
        rpc_args=tuple(args),
    )


def _is_logic(key: str) -> bool:
    return key not in RESERVED and last_word(key) in ("and", "or")


def _is_filter(key: str) -> bool:
    return key not in RESERVED and last_word(key) not in EMBEDDABLE


def _level(key: str) -> EmbedPath:
    """Return the embed path of an `[embed.]order`-style key."""
    return run(key, "tree path", names)[:-1]


def _filters(params: list[tuple[str, str]], rpc_read: bool) -> tuple[list, list]:
    filters, args = [], []
    for index, (key, value) in enumerate(params):
        if not _is_filter(key):
            continue
        embed, path = parse_filter_key(key)
        try:
            filters.append((index, embed, parse_filter_value(path, value)))
        except ApiError:
            if not rpc_read:
                raise
            args.append((path.name, value))
    return filters, args


def _by_level(entries: list[tuple[int, EmbedPath, Node]]) -> dict[EmbedPath, tuple[Node, ...]]:
    levels: dict[EmbedPath, list[Node]] = {}
    for _, embed, node in entries:
        levels.setdefault(embed, []).append(node)
    return {embed: tuple(nodes) for embed, nodes in levels.items()}


def _pages(params: list[tuple[str, str]]) -> dict[EmbedPath, Page]:
    limits = {_level(k): v for k, v in params if last_word(k) == "limit"}
    offsets = {_level(k): v for k, v in params if last_word(k) == "offset"}
    levels = {(): None} | dict.fromkeys(limits) | dict.fromkeys(offsets)
    return {level: param_page(limits.get(level), offsets.get(level)) for level in levels}


@functools.lru_cache(maxsize=CACHE_SIZE)
def parse_order(text: str) -> tuple[OrderTerm, ...]:
    """Parse the value of `order=`."""
    return run(text, "order", _order_terms)


def _order_terms(scanner: Scanner) -> tuple[OrderTerm, ...]:
    terms = [_order_term(scanner)]
    while scanner.take(","):
        terms.append(_order_term(scanner))
    return tuple(terms)


def _order_term(scanner: Scanner) -> OrderTerm:
    scanner.skip_ws()
    start, relation = scanner.pos, None
    try:
        relation = field_name(scanner)
        scanner.expect("(")
        path = column_path(scanner)
        scanner.expect(")")
    except Failure:
        scanner.pos, relation = start, None
        path = column_path(scanner)
    direction = _suffix(scanner, ("asc", "desc"))
    nulls = _suffix(scanner, ("nullsfirst", "nullslast"))
    scanner.skip_ws()
    if not (scanner.at_end() or scanner.peek() == ","):
        if scanner.take("."):
            scanner.fail(*(_DIRECTIONS if direction is None else _DIRECTIONS[2:]))
        scanner.fail("delimiter (.)", '","', "end of input")
    first_or_last = "first" if nulls == "nullsfirst" else "last" if nulls == "nullslast" else None
    return OrderTerm(path, direction == "desc", first_or_last, relation)


def _suffix(scanner: Scanner, words: tuple[str, ...]) -> str | None:
    for word in words:
        if scanner.take("." + word):
            return word
    return None


def _columns(text: str, name: str) -> tuple[str, ...]:
    """Parse `a,b` or `"a","b"` (as postgrest-js sends them) into unique names."""
    return run(text, f"{name} parameter", _column_list)


def _column_list(scanner: Scanner) -> tuple[str, ...]:
    found: dict[str, None] = {}
    while True:
        scanner.skip_ws()
        found[field_name(scanner)] = None
        scanner.skip_ws()
        if not scanner.take(","):
            return tuple(found)
