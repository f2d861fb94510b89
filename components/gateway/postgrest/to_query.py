"""Compile a parsed request into the datastore's neutral query model, as far as it goes.

Supported: `select=` of columns with `alias:`, `::cast`, JSON paths (`data->a->>b`) and
aggregates (`amount.sum()`, `count()`; refused by `parse_request` unless enabled);
every filter operator (eq neq gt gte lt lte like ilike match imatch in is isdistinct,
full-text search with its config, cs cd ov sl sr nxr nxl adj, `(any)`/`(all)`), on
columns or JSON paths, with `not.`, `and`/`or`/`not` trees; `order=` on columns or JSON
paths with nulls first/last; limit/offset (and Range); `Prefer: count`; inserts (bulk,
`columns=`, upsert with `on_conflict=` and `resolution=`); PUT of one row; updates;
deletes; `return=`. Whether a store's engine can run an operator is the datastore's
decision (UnsupportedFeature, naming the engine).

Refused with PGRST127 "Feature not implemented": resource embedding (the REST API runs
it from the same pieces), ordering by an embed, RPC, limited updates/deletes. A PATCH or
DELETE without a filter is refused (21000) unless `allow_unfiltered`. An update whose
body has no keys compiles to an `Update` with no values: answer 204 without running it,
as PostgREST does.
"""

from __future__ import annotations

from collections.abc import Mapping

import falcon

from components.datastore import query as q
from components.gateway.errors import ApiError
from components.gateway.postgrest import errors
from components.gateway.postgrest.filters import And, Filter, Node, Not, Or
from components.gateway.postgrest.grammar import ColumnPath, array_items, like_pattern
from components.gateway.postgrest.ranges import Page
from components.gateway.postgrest.request import Action, Kind, ParsedRequest, has_aggregates
from components.gateway.postgrest.select import Embed, Field, Item
from mobo.exceptions import QueryError

Row = Mapping[str, object]
PATTERN_OPS = frozenset({q.Op.LIKE, q.Op.ILIKE})  # `*` stands for `%`


def to_query(
    request: ParsedRequest,
    body: object = None,
    *,
    allow_unfiltered: bool = False,
    aggregates: bool = False,
) -> q.Query:
    """Return the datastore query for `request`; `body` is the decoded JSON of a write.

    Aggregates in `select=` are PGRST123 unless `aggregates` (PostgREST's default)."""
    if not aggregates and has_aggregates(request.select):
        raise errors.aggregates_not_allowed()
    if request.kind is not Kind.TABLE or request.action is Action.INFO:
        where_to = {Kind.RPC: f"/rpc/{request.name}", Kind.ROOT: "/"}.get(request.kind, "")
        raise errors.not_implemented(f"{request.method} {where_to} is not supported yet")
    _check_levels(request)
    build = {
        Action.READ: _select,
        Action.CREATE: _insert,
        Action.UPSERT: _upsert,
        Action.UPDATE: _update,
        Action.DELETE: _delete,
    }[request.action]
    try:
        return build(request, body, allow_unfiltered)
    except QueryError as exc:
        status = falcon.HTTP_416 if exc.code == "PGRST103" else falcon.HTTP_400
        raise ApiError(status, exc.code or "PGRST100", exc.message, details=exc.details) from None


def _check_levels(request: ParsedRequest) -> None:
    """Refuse filters, orders and limits on embeds, which need embedding (PGRST108)."""
    levels = [*request.filters, *request.order, *request.pages]
    nested = [level for level in levels if level]
    if not nested:
        return
    resource = nested[0][0]
    if any(isinstance(i, Embed) and resource in (i.key, i.relation) for i in request.select):
        raise errors.not_implemented(f"resource embedding ({resource}) is not supported yet")
    raise errors.not_embedded(resource)


def _select(request: ParsedRequest, body: object, allow_unfiltered: bool) -> q.Select:
    page = request.page
    return q.Select(
        table=request.name or "",
        columns=columns(request.select),
        where=where(request.where()),
        order=order(request),
        limit=page.limit,
        offset=page.offset or None,
        count=request.prefer.count is not None,
    )


def columns(items: tuple[Item, ...]) -> tuple[q.Column, ...]:
    """Return the output columns of a select; `()` for `*` (every column)."""
    fields = []
    for item in items:
        if isinstance(item, Embed):
            raise errors.not_implemented(
                f"resource embedding ({item.relation}) is not supported yet"
            )
        fields.append(item)
    if not fields:
        raise errors.not_implemented("an empty select is not supported yet")
    if any(field.star for field in fields):
        if len(fields) > 1:
            raise errors.not_implemented("'*' together with other columns is not supported yet")
        return q.ALL
    return tuple(column(f) for f in fields)


def column(field: Field) -> q.Column:
    """Return one select field as an output column (a JSON path, an aggregate, ...)."""
    if field.aggregate == "count" and field.path.name == "*" and not field.path.json:
        return q.Column("*", field.alias, aggregate="count", aggregate_cast=field.aggregate_cast)
    return q.Column(
        field.path.name,
        field.alias,
        field.cast,
        json_path(field.path),
        field.aggregate,
        field.aggregate_cast,
    )


def json_path(path: ColumnPath) -> q.JsonPath | None:
    """Return the JSON path of `col->a->0->>b` (None for a plain column).

    `->>` gives text, so it can only be the last step (PostgreSQL has no `text -> key`)."""
    if not path.json:
        return None
    steps = path.json
    if any(step.arrow == "->>" for step in steps[:-1]):
        raise ApiError(
            falcon.HTTP_400,
            "PGRST100",
            f"failed to parse the JSON path ({path})",
            details=f"->> can only be the last step of a JSON path ({path})",
            hint="->> gives the value as text; use -> for the steps before it",
        )
    keys = tuple(int(s.key) if s.index else s.key for s in steps)
    return q.JsonPath(keys, text=steps[-1].arrow == "->>")


def where(node: Node | None) -> q.Filter | None:
    """Return a filter tree in the datastore's model (None for no filter)."""
    return None if node is None else _node(node)


def _node(node: Node) -> q.Filter:
    if isinstance(node, And):
        return q.And(tuple(_node(n) for n in node.nodes))
    if isinstance(node, Or):
        return q.Or(tuple(_node(n) for n in node.nodes))
    if isinstance(node, Not):
        return q.Not(_node(node.node))
    return _cond(node)


def _cond(node: Filter) -> q.Cond:
    path = json_path(node.path)
    value: object = node.value
    if node.modifier is not None:
        value = _array(node, str(value))
    if node.op in PATTERN_OPS:
        value = _pattern(value)
    if node.op is q.Op.IS and value == "not_null":
        return q.Cond(node.path.name, q.Op.IS, "null", negate=not node.negate, json=path)
    return q.Cond(
        node.path.name,
        node.op,
        value,
        negate=node.negate,
        json=path,
        modifier=node.modifier,
        config=node.fts_config,
    )


def _array(node: Filter, text: str) -> tuple[str | None, ...]:
    """Read the `{a,b}` operand of `op(any)`/`op(all)` (PostgreSQL's array literal)."""
    try:
        return array_items(text)
    except ValueError as exc:
        raise ApiError(
            falcon.HTTP_400,
            "22P02",
            f'malformed array literal: "{text}"',
            details=str(exc),
            hint=f'{node.op}({node.modifier}) takes a list such as {{a,b,"c,d"}}',
        ) from None


def _pattern(value: object) -> object:
    if isinstance(value, str):
        return like_pattern(value)
    if isinstance(value, tuple):
        return tuple(like_pattern(v) if isinstance(v, str) else v for v in value)
    return value


def order(request: ParsedRequest) -> tuple[q.Order, ...]:
    """Return the root level's ORDER BY terms."""
    terms = []
    for term in request.order.get((), ()):
        if term.relation is not None:
            raise errors.not_implemented(f"ordering by {term.relation}(...) is not supported yet")
        terms.append(q.Order(term.path.name, term.desc, term.nulls, json_path(term.path)))
    return tuple(terms)


def _returning(request: ParsedRequest) -> tuple[q.Column, ...] | None:
    """Return what a write hands back: the select for `representation`, all for `headers-only`.

    `headers-only` needs the new rows' primary key for `Location`; the caller picks it out.
    """
    if request.prefer.return_ == "representation":
        return columns(request.select)
    return q.ALL if request.prefer.return_ == "headers-only" else None


def _rows(body: object) -> tuple[Row, ...]:
    if body is None:
        raise errors.invalid_body("Empty or invalid json")
    rows = (body,) if isinstance(body, Mapping) else body
    if not isinstance(rows, list | tuple) or not all(isinstance(r, Mapping) for r in rows):
        raise errors.invalid_body("All object keys must match")
    return tuple(rows)


def _project(request: ParsedRequest, rows: tuple[Row, ...]) -> tuple[Row, ...]:
    """Apply `columns=` and `Prefer: missing=default`; check the keys match otherwise."""
    if request.columns is None:
        if any(set(row) != set(rows[0]) for row in rows[1:]):
            raise errors.invalid_body("All object keys must match")
        return rows
    names = request.columns
    if request.prefer.missing == "default":
        names = tuple(c for c in names if any(c in row for row in rows))
        if any(c not in row for c in names for row in rows):
            raise errors.not_implemented("missing=default with a key absent from some rows")
    return tuple({c: row.get(c) for c in names} for row in rows)


def _insert(request: ParsedRequest, body: object, allow_unfiltered: bool) -> q.Insert:
    resolution = {"merge-duplicates": q.Resolution.MERGE, "ignore-duplicates": q.Resolution.IGNORE}
    chosen = resolution.get(request.prefer.resolution or "")
    return q.Insert(
        table=request.name or "",
        rows=_project(request, _rows(body)),
        on_conflict=request.on_conflict if chosen else None,
        resolution=chosen,
        returning=_returning(request),
    )


def _upsert(request: ParsedRequest, body: object, allow_unfiltered: bool) -> q.Insert:
    """Compile `PUT /t?pk=eq.v` with the whole row as body: an upsert on the key."""
    nodes = request.filters.get((), ())
    keys = [node for node in nodes if isinstance(node, Filter) and _is_key(node)]
    if not keys or len(keys) != len(nodes):
        raise errors.invalid_put_filters()
    rows = _rows(body)
    row = rows[0] if len(rows) == 1 else None
    if row is None or any(not _same(f.value, row.get(f.path.name, _ABSENT)) for f in keys):
        raise errors.put_key_mismatch()
    return q.Insert(
        table=request.name or "",
        rows=(row,),
        on_conflict=tuple(f.path.name for f in keys),
        resolution=q.Resolution.MERGE,
        returning=_returning(request),
    )


_ABSENT = object()


def _is_key(node: Filter) -> bool:
    """Say whether a filter can name a primary key value: a plain `col=eq.v`."""
    return node.op is q.Op.EQ and not (node.negate or node.modifier or node.path.json)


def _same(url_value: object, body_value: object) -> bool:
    """Say whether a body value is the one a `col=eq.v` filter names (compared as text)."""
    if body_value is _ABSENT or body_value is None:
        return False
    if isinstance(body_value, bool):
        return str(url_value).lower() == str(body_value).lower()
    return str(url_value) == str(body_value)


def _limited(request: ParsedRequest, verb: str) -> None:
    if request.page != Page():
        raise errors.not_implemented(f"limit/offset on {verb} is not supported yet")


def _filtered(request: ParsedRequest, verb: str, allow_unfiltered: bool) -> q.Filter | None:
    condition = where(request.where())
    if condition is None and not allow_unfiltered:
        raise errors.unfiltered_write(verb)
    return condition


def _update(request: ParsedRequest, body: object, allow_unfiltered: bool) -> q.Update:
    _limited(request, "PATCH")
    rows = _rows(body)
    if len(rows) > 1:
        raise errors.not_implemented("PATCH with an array of several objects is not supported yet")
    values = _project(request, rows)[0] if rows else {}
    return q.Update(
        table=request.name or "",
        values=dict(values),
        where=_filtered(request, "UPDATE", allow_unfiltered),
        returning=_returning(request),
    )


def _delete(request: ParsedRequest, body: object, allow_unfiltered: bool) -> q.Delete:
    _limited(request, "DELETE")
    return q.Delete(
        table=request.name or "",
        where=_filtered(request, "DELETE", allow_unfiltered),
        returning=_returning(request),
    )
