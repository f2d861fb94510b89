"""Horizontal filtering: `col=op.value`, `not.`, modifiers, and `or=(...)`/`and=(...)` trees.

    age=gte.18                      Filter(age, gte, "18")
    name=in.("Hebdon,John",Mary)    Filter(name, in, ("Hebdon,John", "Mary"))
    tsv=not.fts(french).amusant     Filter(tsv, fts, "amusant", negate, fts_config="french")
    last_name=like(any).{O*,P*}     Filter(last_name, like, "{O*,P*}", modifier="any")
    actors.or=(a.eq.1,not.and(b.gt.2,c.lt.3))
                                    ("actors",): Or(Filter, Not(And(Filter, Filter)))

Values are kept as the client wrote them (`*` is turned into `%` only when a like filter
is compiled); they are data, never structure. The operators, and which take `(any)`/
`(all)` or a text search configuration, are the datastore's (`components.datastore.query`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from components.datastore.query import FTS_OPS, OPS, QUANTIFIABLE, Op
from components.gateway.postgrest.grammar import (
    CACHE_SIZE,
    ColumnPath,
    EmbedPath,
    Failure,
    Scanner,
    check_depth,
    column_path,
    identifier,
    is_value,
    list_values,
    logic_value,
    names,
    run,
    tree_path,
)

_OP_WORD = re.compile(r"[a-z]+")
OPERATOR = "operator (eq, gt, ...)"


@dataclass(frozen=True, slots=True)
class Filter:
    """`path op value`; `value` is a tuple for `in`, a lowercase word for `is`."""

    path: ColumnPath
    op: Op
    value: str | tuple[str, ...]
    negate: bool = False
    modifier: str | None = None  # "any" | "all"
    fts_config: str | None = None


@dataclass(frozen=True, slots=True)
class And:
    nodes: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    nodes: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    node: Node


Node = Filter | And | Or | Not


def op_expr(scanner: Scanner, path: ColumnPath, value: Callable[[Scanner], str]) -> Filter:
    """Read `[not.]op[(mod)].value` for `path`; `value` reads the operand."""
    negate = scanner.take("not.")
    match = _OP_WORD.match(scanner.text, scanner.pos)
    op = OPS.get(match.group()) if match else None
    if match is None or op is None:
        scanner.fail(OPERATOR) if negate else scanner.fail('"not"', OPERATOR)
    scanner.pos = match.end()
    modifier, config = None, None
    if op in FTS_OPS and scanner.take("("):
        config = identifier(scanner, "letter or digit")
        scanner.expect(")")
    elif op in QUANTIFIABLE and scanner.take("("):
        modifier = "any" if scanner.take("any") else "all" if scanner.take("all") else None
        if modifier is None:
            scanner.fail('"any"', '"all"')
        scanner.expect(")")
    scanner.expect(".", "delimiter (.)")
    if op is Op.IN:
        operand: str | tuple[str, ...] = list_values(scanner)
    else:
        operand = is_value(scanner) if op is Op.IS else value(scanner)
    return Filter(path, op, operand, negate, modifier, config)


@functools.lru_cache(maxsize=CACHE_SIZE)
def parse_filter_key(key: str) -> tuple[EmbedPath, ColumnPath]:
    """Parse a filter's key: `embed.column->json`."""
    return run(key, "tree path", tree_path)


def parse_filter_value(path: ColumnPath, value: str) -> Filter:
    """Parse a filter's value, the operand being the rest of the text verbatim."""
    return run(value, "filter", lambda sc: op_expr(sc, path, Scanner.rest))


def parse_filter(key: str, value: str) -> tuple[EmbedPath, Filter]:
    """Parse one `key=value` filter parameter."""
    embed, path = parse_filter_key(key)
    return embed, parse_filter_value(path, value)


def parse_logic(key: str, value: str) -> tuple[EmbedPath, Node]:
    """Parse `[embed.][not.]or=(...)` / `and=(...)` into a tree."""
    parts = run(key, "logic path", names)
    negate = "not" in parts
    embed = tuple(p for p in parts[:-1] if p != "not")
    text = ("not." if negate else "") + parts[-1] + value
    return embed, run(text, "logic tree", lambda sc: _group(sc, 0), shown=value)


def logic_tree(scanner: Scanner, depth: int) -> Node:
    """Read a filter statement or a `[not.]and(...)`/`or(...)` group."""
    start = scanner.pos
    try:
        return _statement(scanner)
    except Failure as first:
        scanner.pos = start
        try:
            return _group(scanner, depth)
        except Failure as second:
            # as Parsec: a group that consumed input reports its own error
            raise (second if second.pos > start else first.merge(second)) from None


def _statement(scanner: Scanner) -> Filter:
    path = column_path(scanner)
    scanner.expect(".", "delimiter (.)")
    return op_expr(scanner, path, logic_value)


def _group(scanner: Scanner, depth: int) -> Node:
    check_depth(scanner, depth)
    negate = scanner.take("not.")
    kind = And if scanner.take("and") else Or if scanner.take("or") else None
    if kind is None:
        expecting = () if negate else ("negation operator (not)",)
        scanner.fail(*expecting, "logic operator (and, or)")
    scanner.skip_ws()
    scanner.expect("(")
    nodes = [logic_tree(scanner, depth + 1)]
    scanner.skip_ws()
    while scanner.take(","):
        scanner.skip_ws()
        nodes.append(logic_tree(scanner, depth + 1))
        scanner.skip_ws()
    scanner.expect(")", '","', '")"')
    scanner.skip_ws()
    node = kind(tuple(nodes))
    return Not(node) if negate else node
