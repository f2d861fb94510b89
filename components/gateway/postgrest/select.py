"""Vertical filtering: the `select=` parameter as a tree of fields and embeds.

    select=id,author:authors!fk_author!inner(name),data->>tag::text,amount.sum()
    (Field(id), Embed(authors, alias=author, hint=fk_author, join=inner, items=(Field(name),)),
     Field(data->>tag, cast=text), Field(amount, aggregate=sum))

Blanks between tokens are allowed. Aggregates are parsed here; whether they may run is
the caller's decision (PostgREST refuses them with PGRST123 unless enabled).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from components.gateway.postgrest.grammar import (
    CACHE_SIZE,
    ColumnPath,
    Failure,
    Scanner,
    check_depth,
    column_path,
    field_name,
    identifier,
    run,
)

AGGREGATES = ("sum", "avg", "count", "max", "min")
_AGGREGATE = re.compile(r"\.(sum|avg|count|max|min)\(\)")
_END = ('","', '")"', "end of input")


@dataclass(frozen=True, slots=True)
class Field:
    """A column (or `*`) to output, maybe renamed, cast or aggregated."""

    path: ColumnPath
    alias: str | None = None
    cast: str | None = None
    aggregate: str | None = None  # one of AGGREGATES
    aggregate_cast: str | None = None

    @property
    def star(self) -> bool:
        return self.path.name == "*" and not self.path.json and self.aggregate is None

    @property
    def key(self) -> str:
        """Return the key this field has in result rows."""
        return self.alias or self.aggregate or self.path.key


@dataclass(frozen=True, slots=True)
class Embed:
    """A related resource to nest (`rel(...)`) or to spread into the parent (`...rel(...)`)."""

    relation: str
    items: tuple[Item, ...]
    alias: str | None = None
    hint: str | None = None  # `rel!hint(...)`: a foreign key, column or table name
    join: str | None = None  # "inner" | "left"
    spread: bool = False

    @property
    def key(self) -> str:
        return self.alias or self.relation


Item = Field | Embed
STAR = Field(ColumnPath("*"))


@functools.lru_cache(maxsize=CACHE_SIZE)
def parse_select(text: str) -> tuple[Item, ...]:
    """Parse the value of `select=`."""
    return run(text, "select parameter", lambda sc: _forest(sc, 0))


def _forest(scanner: Scanner, depth: int) -> tuple[Item, ...]:
    scanner.skip_ws()
    if scanner.at_end() or scanner.peek() == ")":
        return ()
    items = [_item(scanner, depth)]
    scanner.skip_ws()
    while scanner.take(","):
        items.append(_item(scanner, depth))
        scanner.skip_ws()
    return tuple(items)


def _item(scanner: Scanner, depth: int) -> Item:
    scanner.skip_ws()
    spread = scanner.take("...")
    start = scanner.pos
    try:
        alias, relation, hint, join = _embed_head(scanner, spread)
    except Failure:
        if spread:
            raise
        scanner.pos = start
        return _field(scanner)
    check_depth(scanner, depth + 1)
    scanner.expect("(")
    items = _forest(scanner, depth + 1)
    scanner.expect(")", *_END[:2])
    scanner.skip_ws()
    return Embed(relation, items, alias, hint, join, spread)


def _embed_head(scanner: Scanner, spread: bool) -> tuple[str | None, str, str | None, str | None]:
    """Read `[alias:]name[!hint][!inner|!left]` up to the `(`."""
    alias = None if spread else _alias(scanner)
    relation = field_name(scanner)
    if relation == "count" and not spread:
        scanner.fail('"("')  # `count()` is the aggregate, not an embed
    hint = join = None
    for _ in range(2):
        if not scanner.take("!"):
            break
        word = field_name(scanner)
        if word in ("inner", "left"):
            join = word
        else:
            hint = word
    if scanner.peek() != "(":
        scanner.fail('"("')
    return alias, relation, hint, join


def _alias(scanner: Scanner) -> str | None:
    """Read `name:` (not `name::`, a cast) or nothing."""
    start = scanner.pos
    try:
        name = field_name(scanner)
    except Failure:
        name = None
    if name is not None and scanner.peek() == ":" and scanner.peek(2) != "::":
        scanner.pos += 1
        return name
    scanner.pos = start
    return None


def _cast(scanner: Scanner) -> str | None:
    return identifier(scanner, "letter or digit") if scanner.take("::") else None


def _field(scanner: Scanner) -> Field:
    scanner.skip_ws()
    if scanner.take("*"):
        _end(scanner)
        return STAR
    alias = _alias(scanner)
    if scanner.take("count()"):
        field = Field(ColumnPath("*"), alias, aggregate="count", aggregate_cast=_cast(scanner))
        _end(scanner)
        return field
    path = column_path(scanner)
    cast = _cast(scanner)
    aggregate = _AGGREGATE.match(scanner.text, scanner.pos)
    if aggregate:
        scanner.pos = aggregate.end()
    field = Field(path, alias, cast)
    if aggregate:
        field = Field(path, alias, cast, aggregate.group(1), _cast(scanner))
    _end(scanner)
    return field


def _end(scanner: Scanner) -> None:
    scanner.skip_ws()
    if not (scanner.at_end() or scanner.peek() in (",", ")")):
        scanner.fail(*_END)
