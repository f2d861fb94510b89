"""Run a read plan: the parent rows, then ONE query per embedded relation, stitched here.

Resource embedding is done in the gateway, so it works the same on every engine:

1. the parent query selects its outputs plus the key columns of its embeds;
2. per embed, the children whose key is among the parents' keys are read with
   `key IN (...)` in batches of EMBED_BATCH keys (never a query per parent), with the
   embed's own filters and order; a many-to-many goes through its junction table first;
3. children are grouped by key and put into their parents (an object or null for a
   to-one, an array for a to-many, sliced by the embed's limit/offset per parent).

An `!inner` (or `embed=not.is.null`) embed filters its parents and an `embed=is.null`
keeps the parents without one: before the parent query, the keys of the matching children
are read and the parent query gets `key IN (...)` (or `NOT ...`), so limit, offset and
count stay exact. Every query carries the Guard's ownership filter for its table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from components.datastore import query as q
from components.datastore.access import combine
from components.gateway.rest import errors
from components.gateway.rest.plan import EmbedPlan, Level
from components.gateway.rest.render import RawNumber
from components.gateway.rest.session import Session

EMBED_BATCH = 1000  # parent keys per child query
MAX_JOIN_KEYS = 20_000  # keys an `!inner` / anti-join may carry into its parent query

Row = dict[str, Any]
Key = tuple[Any, ...]


def level_where(session: Session, level: Level) -> q.Filter | None:
    """Return a level's WHERE: its filters, the Guard's ownership rule, its semi-joins."""
    table = level.table.name
    session.guard.check(table, "select")
    joins = [semi_join(session, e) for e in level.embeds if e.join is not None]
    return combine(level.where, session.guard.scope(table, "select"), *joins)


def semi_join(session: Session, embed: EmbedPlan) -> q.Filter:
    """Return the parent-side filter of an inner join (or anti-join) on `embed`."""
    rel, child = embed.rel, embed.level
    session.guard.check(child.table.name, "select")
    if rel.cardinality == "many-to-one" and _unrestricted(session, child):
        # a foreign key always finds its row: matching means having one (not under RLS,
        # where a policy may hide it: PostgreSQL always reads the keys)
        nodes = [q.Cond(c, "is", "null", negate=embed.join == "inner") for c in rel.columns]
        return nodes[0] if len(nodes) == 1 else (q.And if embed.join == "inner" else q.Or)(nodes)
    where = level_where(session, child)
    columns = [q.Column(n, a) for n, a in zip(rel.target_columns, embed.child_keys, strict=True)]
    found = _keys(session.execute(q.Select(rel.target, columns, where)).rows, embed.child_keys)
    if rel.junction is not None:
        found = _through_junction(session, embed, found, reverse=True)
    if len(found) > MAX_JOIN_KEYS:
        raise errors.not_implemented(
            f"!inner/is.null on '{embed.key}' matched more than {MAX_JOIN_KEYS} rows; add "
            "filters to narrow it"
        )
    node = keys_filter(rel.columns, found)
    return q.Not(node) if embed.join == "anti" else node


def _unrestricted(session: Session, level: Level) -> bool:
    return (
        session.engine != "postgres"
        and level.where is None
        and not any(e.join for e in level.embeds)
        and session.guard.scope(level.table.name, "select") is None
    )


def attach(session: Session, level: Level, rows: list[Row]) -> None:
    """Fetch every embed of `level` for `rows` and leave it in each row's slot."""
    for embed in level.embeds:
        if embed.empty and not embed.spread:
            continue
        keys = _keys(rows, embed.parent_keys)
        targets: dict[Key, list[Key]] | None = None
        if embed.rel.junction is not None:
            targets = _junction_map(session, embed, keys)
            keys = {t for ts in targets.values() for t in ts}
        children = _children(session, embed, keys)
        attach(session, embed.level, children)
        groups: dict[Key, list[Row]] = defaultdict(list)
        for child in children:
            groups[tuple(child[a] for a in embed.child_keys)].append(shape_row(embed.level, child))
        for row in rows:
            _stitch(embed, row, groups, targets)


def _children(session: Session, embed: EmbedPlan, keys: set[Key]) -> list[Row]:
    child = embed.level
    if not keys:
        session.guard.check(child.table.name, "select")
        return []
    where = level_where(session, child)
    found: list[Row] = []
    for batch in _batches(sorted(keys, key=repr), max(1, EMBED_BATCH // len(embed.child_keys))):
        select = q.Select(
            child.table.name,
            child.columns,
            combine(where, keys_filter(embed.rel.target_columns, batch)),
            child.order,
        )
        found.extend(session.execute(select).rows)
    return found


def _stitch(
    embed: EmbedPlan, row: Row, groups: dict[Key, list[Row]], targets: dict[Key, list[Key]] | None
) -> None:
    key = tuple(row[a] for a in embed.parent_keys)
    if targets is None:
        matched = groups.get(key, [])
    else:
        matched = [c for t in targets.get(key, ()) for c in groups.get(t, ())]
    if embed.rel.to_one:
        row[embed.slot] = matched[0] if matched else None
        return
    page = embed.level.page
    end = None if page.limit is None else page.offset + page.limit
    row[embed.slot] = matched[page.offset : end]


def _junction_map(session: Session, embed: EmbedPlan, keys: set[Key]) -> dict[Key, list[Key]]:
    """Return, per parent key, the target keys its junction rows name."""
    junction = embed.rel.junction
    assert junction is not None
    session.guard.check(junction.table, "select")
    mapping: dict[Key, list[Key]] = defaultdict(list)
    columns = (*junction.source.columns, *junction.target.columns)
    width = len(junction.source.columns)
    scope = session.guard.scope(junction.table, "select")
    for batch in _batches(sorted(keys, key=repr), EMBED_BATCH // max(1, width)):
        where = combine(scope, keys_filter(junction.source.columns, batch))
        for row in session.execute(q.Select(junction.table, columns, where)).rows:
            values = tuple(row[c] for c in columns)
            mapping[values[:width]].append(values[width:])
    return mapping


def _through_junction(
    session: Session, embed: EmbedPlan, targets: set[Key], *, reverse: bool
) -> set[Key]:
    """Return the parent keys whose junction rows reach any of `targets`."""
    junction = embed.rel.junction
    assert junction is not None and reverse
    session.guard.check(junction.table, "select")
    scope = session.guard.scope(junction.table, "select")
    found: set[Key] = set()
    width = len(junction.target.columns)
    for batch in _batches(sorted(targets, key=repr), EMBED_BATCH // max(1, width)):
        where = combine(scope, keys_filter(junction.target.columns, batch))
        rows = session.execute(q.Select(junction.table, junction.source.columns, where)).rows
        found |= {tuple(r[c] for c in junction.source.columns) for r in rows}
    return found


def keys_filter(columns: Sequence[str], keys: Iterable[Key]) -> q.Filter:
    """Return `columns IN keys` (one column) or an OR of ANDs (a composite key)."""
    keys = list(keys)
    if len(columns) == 1:
        return q.Cond(columns[0], "in", [k[0] for k in keys])
    return q.Or(
        tuple(
            q.And(tuple(q.Cond(c, "eq", v) for c, v in zip(columns, k, strict=True))) for k in keys
        )
    )


def _keys(rows: Iterable[Row], aliases: Sequence[str]) -> set[Key]:
    """Return the distinct non-null key tuples of `rows`."""
    found = (tuple(row[a] for a in aliases) for row in rows)
    return {key for key in found if None not in key}


def _batches(items: list[Key], size: int) -> Iterator[list[Key]]:
    size = max(1, size)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def shape_row(level: Level, row: Row) -> Row:
    """Return the client's view of a row: outputs in select order, private keys dropped."""
    out: Row = {}
    for output in level.outputs:
        embed = output.embed
        if embed is None:
            value = row[output.key]
            out[output.key] = RawNumber.of(value) if output.decimal else value
        elif embed.spread:
            child = row[embed.slot]
            for key in output_keys(embed.level):
                out[key] = None if child is None else child.get(key)
        else:
            out[output.key] = row[embed.slot]
    return out


def output_keys(level: Level) -> list[str]:
    """Return the keys a level's shaped rows have, spreads expanded."""
    keys: list[str] = []
    for output in level.outputs:
        if output.embed is not None and output.embed.spread:
            keys.extend(output_keys(output.embed.level))
        else:
            keys.append(output.key)
    return keys


def shape(level: Level, rows: Iterable[Row]) -> list[Row]:
    return [shape_row(level, row) for row in rows]


def shape_read(level: Level, rows: list[Row]) -> list[Row]:
    """`shape` for the rows a read's Select returned: MagDS keys them by the level's
    columns in select order, so a level without embeds, private keys or exact numbers
    is the client's view already."""
    if not level.embeds and not level.keys and not any(o.decimal for o in level.outputs):
        return rows
    return [shape_row(level, row) for row in rows]
