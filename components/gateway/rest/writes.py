"""POST, PUT, PATCH and DELETE on `/rest/v1/{table}`, answered as PostgREST does.

| request                     | status | body                   | Content-Range           |
|-----------------------------|--------|------------------------|-------------------------|
| POST, return=minimal        | 201    | none                   | `*/*`                   |
| POST, return=headers-only   | 201    | none (+ `Location`)    | `*/*`                   |
| POST, return=representation | 201    | the rows, by `select=` | `*/*` (`*/N` counted)   |
| PATCH                       | 204    | 200 + rows if asked    | `0-N/*`                 |
| PUT, DELETE                 | 204    | 200 + rows if asked    | `*/*`                   |

The write, the ownership checks and the embeds of the representation run in one
transaction; a singular request (`vnd.pgrst.object`) or `max-affected` that the result
breaks rolls it back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from urllib.parse import quote

from components.datastore import Result
from components.datastore import query as q
from components.datastore.access import RowPolicyViolation, combine
from components.gateway.postgrest.grammar import ColumnPath
from components.gateway.postgrest.request import Action, ParsedRequest
from components.gateway.postgrest.select import Field
from components.gateway.postgrest.to_query import to_query
from components.gateway.rest import bodies, errors, render
from components.gateway.rest.call import Reply, Target
from components.gateway.rest.embed import EMBED_BATCH, attach, keys_filter, shape
from components.gateway.rest.plan import Level, build
from components.gateway.rest.reads import respond
from components.gateway.rest.session import Session, open_session

OPS = {
    Action.CREATE: "insert",
    Action.UPSERT: "insert",
    Action.UPDATE: "update",
    Action.DELETE: "delete",
}


def write(target: Target, request: ParsedRequest, data: bytes) -> Reply:
    """Run one write and answer it."""
    table = target.table
    body = bodies.decode(data, request.body_media) if request.body_media is not None else None
    representation = request.prefer.return_ == "representation"
    # build() also checks the root filters, which are the write's WHERE (numbers.py)
    engine = target.adapter.engine
    plan = build(target.schema, table, request, target.lookup, target.visible, engine)
    flat = _flat(request)
    queries = [
        _prepared(target, request, to_query(flat, part), plan) for part in _parts(request, body)
    ]
    with open_session(target.adapter, target.guard, target.caller, read_only=False) as session:
        results = []
        last = _last_allowed(request, plan, representation) and len(queries) == 1
        for query in queries:
            if isinstance(query, q.Insert) and query.resolution is q.Resolution.MERGE:
                _check_upsert(session, query)
            results.append(_run(session, query, last=last))
        result = Result(
            [row for r in results for row in r.rows], None, sum(r.rowcount for r in results)
        )
        _check_result(request, result)
        rows = result.rows
        if representation:
            attach(session, plan, rows)
    return _reply(target, request, plan, result, shape(plan, rows) if representation else [])


def _parts(request: ParsedRequest, body: object) -> list[object]:
    """Split a bulk insert with `missing=default` into runs of rows with the same keys.

    Each run is one INSERT naming only its keys, so the others take their defaults; the
    runs are consecutive, so the rows come back in the order they were sent."""
    if (
        request.action is not Action.CREATE
        or request.prefer.missing != "default"
        or request.columns is None
        or not isinstance(body, list)
        or not all(isinstance(row, Mapping) for row in body)
    ):
        return [body]
    runs: list[list[Mapping[str, object]]] = []
    previous: frozenset[str] | None = None
    for row in body:
        keys = frozenset(c for c in request.columns if c in row)
        if keys != previous or not runs:
            runs.append([])
            previous = keys
        runs[-1].append(row)
    return list(runs) or [body]


def _flat(request: ParsedRequest) -> ParsedRequest:
    """Return the request as `to_query` compiles a write: root filters, no select, no return."""
    return dataclasses.replace(
        request,
        select=(Field(ColumnPath("*")),),
        filters={(): request.filters.get((), ())},
        order={},
        pages={(): request.page},
        prefer=dataclasses.replace(request.prefer, return_=None),
    )


def _prepared(target: Target, request: ParsedRequest, query: q.Query, plan: Level) -> q.Query:
    """Check columns and permissions, apply ownership, and choose what the write returns."""
    table, guard = target.table, target.guard
    guard.check(table.name, OPS[request.action])
    if isinstance(query, q.Insert) and query.resolution is q.Resolution.MERGE:
        guard.check(table.name, "update")
    if request.prefer.return_ in ("representation", "headers-only"):
        guard.check(table.name, "select")
    returning = _returning(request, plan, table.primary_key)
    if isinstance(query, q.Insert):
        rows = guard.own(table.name, [bodies.normalize(table, r) for r in query.rows])
        _known(target, [*(rows[0] if rows else ()), *(query.on_conflict or ())])
        return dataclasses.replace(query, rows=rows, returning=returning)
    if isinstance(query, q.Update):
        values = bodies.normalize(table, query.values)
        _known(target, values)
        guard.check_values(table.name, values)
        where = combine(query.where, guard.scope(table.name, "update"))
        return dataclasses.replace(query, values=values, where=where, returning=returning)
    assert isinstance(query, q.Delete)
    where = combine(query.where, guard.scope(table.name, "delete"))
    return dataclasses.replace(query, where=where, returning=returning)


def _returning(
    request: ParsedRequest, plan: Level, primary_key: tuple[str, ...]
) -> tuple[q.Column, ...] | None:
    if request.prefer.return_ == "representation":
        return tuple(plan.columns)
    if request.prefer.return_ == "headers-only" and primary_key:
        return tuple(q.Column(name) for name in primary_key)
    return None


def _known(target: Target, names: object) -> None:
    """Refuse a payload key the table does not have (PGRST204), before any SQL."""
    table = target.table
    known = {c.name for c in table.columns}
    for name in names:  # type: ignore[attr-defined]
        if name not in known:
            raise errors.unknown_column(table.name, str(name))


def _check_upsert(session: Session, query: q.Insert) -> None:
    """Refuse a merge that would update a row owned by someone else (ownership rule)."""
    foreign = session.guard.foreign_rows(query.table)
    if foreign is None or not query.rows:
        return
    table = session.adapter.introspect().table(query.table)
    keys = [table.primary_key, *(i.columns for i in table.indexes if i.unique and not i.partial)]
    for columns in {tuple(k) for k in keys if k and set(k) <= set(query.rows[0])}:
        values = sorted({tuple(row[c] for c in columns) for row in query.rows}, key=repr)
        for start in range(0, len(values), EMBED_BATCH):
            batch = values[start : start + EMBED_BATCH]
            where = combine(keys_filter(columns, batch), foreign)
            if session.execute(q.Select(query.table, columns[:1], where, limit=1)).rows:
                raise RowPolicyViolation(query.table, anonymous=session.guard.anonymous)


def _last_allowed(request: ParsedRequest, plan: Level, representation: bool) -> bool:
    """Whether the write may commit with its statement: nothing checked or read after it."""
    if request.singular or (request.prefer.strict and request.prefer.max_affected is not None):
        return False  # _check_result may still roll it back
    return not (representation and plan.embeds)


def _run(session: Session, query: q.Query, *, last: bool = False) -> Result:
    if isinstance(query, q.Insert) and not query.rows:
        return Result()
    if isinstance(query, q.Update) and not query.values:
        return Result()  # PATCH {}: nothing to do, as PostgREST answers it
    return session.execute(query, last=last)


def _check_result(request: ParsedRequest, result: Result) -> None:
    """Raise (so the transaction rolls back) when the result breaks the request's terms."""
    if request.singular and result.rowcount != 1:
        raise errors.singular(result.rowcount)
    limit = request.prefer.max_affected
    if request.prefer.strict and limit is not None and result.rowcount > limit:
        raise errors.max_affected(result.rowcount)


def _reply(
    target: Target, request: ParsedRequest, plan: Level, result: Result, rows: list
) -> Reply:
    action = request.action
    representation = request.prefer.return_ == "representation"
    total = result.rowcount if request.prefer.count is not None else None
    status = 201 if action is Action.CREATE else 200 if representation else 204
    reply = Reply(status)
    if action is Action.UPDATE:
        reply.headers["Content-Range"] = render.content_range(0, result.rowcount, total)
    else:
        reply.headers["Content-Range"] = f"*/{'*' if total is None else total}"
    if request.prefer.return_ == "headers-only" and result.rows:
        reply.headers["Location"] = location(target.table.name, result.rows[0])
    if representation:
        return respond(reply, request, plan, rows)
    applied = request.preference_applied()
    if applied:
        reply.headers["Preference-Applied"] = applied
    return reply


def location(table: str, key: Mapping[str, object]) -> str:
    """Return `/table?pk=eq.value` for a new row (every key column, in order)."""
    terms = "&".join(f"{quote(k, safe='')}=eq.{quote(str(v), safe='')}" for k, v in key.items())
    return f"/{quote(table, safe='')}?{terms}"
