"""`/rest/v1/rpc/{fn}`: call a PostgreSQL function with named arguments, as PostgREST does.

The function is looked up in pg_catalog, in the store's schema, by name and by the
argument names the call gives (PostgREST's overload resolution): no match is 404
PGRST202, several are 300 PGRST203. It is called in the request's transaction (the role
and claims set, so RLS applies inside it), every argument bound as text and cast to the
parameter's declared type, every identifier quoted:

    SELECT to_json("public"."add_them"("a" := %s::integer, "b" := %s::integer))::text

PostgreSQL writes the JSON (numbers keep every digit): a scalar is bare JSON, a set is an
array, a composite an object, `void` is 204. GET and HEAD may only call STABLE or
IMMUTABLE functions (a VOLATILE one is 405, as PostgREST's read-only transaction would
make it). A single unnamed `json`/`jsonb` parameter receives the whole body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from components.datastore.codecs import array_literal
from components.gateway.postgrest.media import Media
from components.gateway.postgrest.request import ParsedRequest
from components.gateway.postgrest.select import Field
from components.gateway.rest import bodies, errors, render
from components.gateway.rest.call import CONTENT_TYPES, Reply
from components.gateway.rest.session import Session

# S608: identifiers below are quoted with quote_ident and types come from format_type();
# every value is a bound parameter.
# ruff: noqa: S608

FUNCTIONS = """
SELECT p.proname AS name, p.provolatile AS volatility, p.proretset AS returns_set,
       p.prorettype = 'void'::regtype AS returns_void,
       t.typtype = 'c' OR p.prorettype = 'record'::regtype AS returns_composite,
       coalesce(p.proargnames, '{}') AS arg_names,
       coalesce(p.proargmodes::text[], '{}') AS arg_modes,
       p.pronargs AS nargs, p.pronargdefaults AS ndefaults,
       ARRAY(SELECT format_type(a.t, NULL)
             FROM unnest(p.proargtypes) WITH ORDINALITY AS a(t, n) ORDER BY a.n) AS arg_types,
       p.provariadic <> 0 AS variadic
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_type t ON t.oid = p.prorettype
WHERE n.nspname = %s AND p.proname = %s AND p.prokind = 'f'
"""
IN_MODES = ("i", "b", "v")
JSON_TYPES = ("json", "jsonb")


@dataclass(frozen=True, slots=True)
class Function:
    """One overload: its input parameters (name, type) and what it returns."""

    schema: str
    name: str
    params: tuple[tuple[str, str], ...]
    required: int  # the first `required` params have no default
    volatile: bool
    returns_set: bool
    returns_void: bool
    returns_composite: bool
    variadic: bool

    @property
    def single_json(self) -> bool:
        return len(self.params) == 1 and not self.params[0][0] and self.params[0][1] in JSON_TYPES


def call(session: Session, request: ParsedRequest, data: bytes) -> Reply:
    """Look the function up, call it, and answer with what it returned."""
    if session.engine != "postgres":
        raise errors.not_implemented(
            f"RPC needs a PostgreSQL store; '{session.adapter.name}' is a {session.engine} store"
        )
    _refuse_unsupported(request)
    body = _arguments(request, data)
    schema = session.adapter.settings.schema
    function, args = resolve(session, schema, request.name or "", body, request)
    if request.method in ("GET", "HEAD") and function.volatile:
        raise errors.api_error(
            405,
            "25006",
            f"cannot execute the VOLATILE function {schema}.{function.name} in a read-only "
            "transaction",
            hint="Call it with POST, or declare it STABLE or IMMUTABLE",
        )
    sql, params = statement(session, function, args, request)
    row = session.raw(sql, params).rows[0]
    return _reply(function, request, row)


def _refuse_unsupported(request: ParsedRequest) -> None:
    if any(request.filters.values()) or any(request.order.values()):
        raise errors.not_implemented("filters and order on RPC results are not supported yet")
    items = request.select
    if not (len(items) == 1 and isinstance(items[0], Field) and items[0].star):
        raise errors.not_implemented("select= on RPC results is not supported yet")


def _arguments(request: ParsedRequest, data: bytes) -> Any:
    if request.method != "POST":
        args: dict[str, Any] = {}
        for name, value in request.rpc_args:
            if name in args:  # repeated: a variadic argument
                previous = args[name]
                args[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                args[name] = value
        return args
    if not data.strip():
        return {}
    if request.body_media is not Media.JSON and request.body_media is not None:
        return bodies.decode(data, request.body_media)
    return bodies.decode(data, Media.JSON)


def resolve(
    session: Session, schema: str, name: str, body: Any, request: ParsedRequest
) -> tuple[Function, dict[str, Any]]:
    """Return the overload the call's argument names select, and the arguments."""
    overloads = [_function(schema, row) for row in session.raw(FUNCTIONS, (schema, name)).rows]
    if request.method == "POST" and not isinstance(body, Mapping):
        json_fns = [f for f in overloads if f.single_json]
        if len(json_fns) == 1:
            return json_fns[0], {"": body}
        raise errors.not_implemented("an RPC body must be a JSON object of named arguments")
    args = dict(body)
    names = set(args)
    found = [f for f in overloads if _accepts(f, names)]
    if not found and request.method == "POST":
        found = [f for f in overloads if f.single_json]
        args = {"": body}
    if len(found) == 1:
        return found[0], args
    if not found:
        raise _not_found(schema, name, sorted(names), request.method == "POST")
    listed = ", ".join(
        f"{f.schema}.{f.name}({', '.join(f'{p} => {t}' for p, t in f.params)})" for f in found
    )
    raise errors.api_error(
        300,
        "PGRST203",
        f"Could not choose the best candidate function between: {listed}",
        hint="Try renaming the parameters or the function itself in the database so function "
        "overloading can be resolved",
    )


def _function(schema: str, row: Mapping[str, Any]) -> Function:
    names, modes, nargs = list(row["arg_names"]), list(row["arg_modes"]), row["nargs"]
    if modes:  # names cover every argument (OUT and TABLE ones too): keep the inputs'
        names = [
            n for n, m in zip(names or [""] * len(modes), modes, strict=False) if m in IN_MODES
        ]
    params = tuple(zip([*names, *[""] * nargs][:nargs], row["arg_types"], strict=True))
    return Function(
        schema=schema,
        name=row["name"],
        params=params,
        required=nargs - row["ndefaults"],
        volatile=row["volatility"] == "v",
        returns_set=row["returns_set"],
        returns_void=row["returns_void"],
        returns_composite=row["returns_composite"],
        variadic=row["variadic"],
    )


def _accepts(function: Function, names: set[str]) -> bool:
    declared = [p for p, _ in function.params]
    if not names <= set(declared) or "" in names:
        return False
    return all(p in names for p in declared[: function.required])


def _not_found(schema: str, name: str, keys: list[str], post: bool) -> errors.ApiError:
    func = f"{schema}.{name}"
    listed = f"({', '.join(keys)})" if keys else " without parameters"
    with_ = (
        f" with parameter{'s' if len(keys) > 1 else ''} {', '.join(keys)}"
        if keys
        else " without parameters"
    )
    details = f"Searched for the function {func}{with_}"
    if post:
        details += " or with a single unnamed json/jsonb parameter"
    return errors.api_error(
        404,
        "PGRST202",
        f"Could not find the function {func}{listed} in the schema cache",
        details=details + ", but no matches were found in the schema cache.",
    )


def statement(
    session: Session, function: Function, args: Mapping[str, Any], request: ParsedRequest
) -> tuple[str, tuple[object, ...]]:
    """Return the SQL that calls `function` and renders its result as JSON text."""
    quote = session.adapter.dialect.quote_ident  # type: ignore[attr-defined]
    types = dict(function.params)
    terms, params = [], []
    for name, value in args.items():
        type_ = types[name]
        variadic = function.variadic and name == function.params[-1][0]
        params.append(_text(value, type_))
        cast = f"%s::{type_}"
        terms.append(
            cast if not name else f"{'VARIADIC ' if variadic else ''}{quote(name)} := {cast}"
        )
    fn = f"{quote(function.schema)}.{quote(function.name)}({', '.join(terms)})"
    if function.returns_void:
        return f"SELECT {fn}", tuple(params)
    if not function.returns_set:
        return f"SELECT to_json({fn})::text AS body, 1 AS n", tuple(params)
    page = request.page
    paging = ""
    if page.limit is not None:
        paging += " LIMIT %s"
        params.append(page.limit)
    if page.offset:
        paging += " OFFSET %s"
        params.append(page.offset)
    inner = (
        f"SELECT * FROM {fn}{paging}"
        if function.returns_composite
        else f"SELECT _v FROM {fn} AS _v{paging}"
    )
    agg = "json_agg(_r)" if function.returns_composite else "json_agg(_r._v)"
    first = (
        "(array_agg(to_json(_r)))[1]"
        if function.returns_composite
        else "(array_agg(to_json(_r._v)))[1]"
    )
    return (
        f"SELECT coalesce({agg}, '[]')::text AS body, count(*) AS n, {first}::text AS one "
        f"FROM ({inner}) AS _r",
        tuple(params),
    )


def _text(value: Any, type_: str) -> str | None:
    """Return an argument as the text PostgreSQL parses into `type_`."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int | float):
        return str(value)
    if isinstance(value, list | tuple) and type_.endswith("[]"):
        return array_literal([bodies.plain(v) for v in value])
    if isinstance(value, dict | list | tuple):
        return render.dumps(_exact(value), exact=True).decode()
    return str(value)


def _exact(value: Any) -> Any:
    """Return a decoded JSON value whose Decimals are written back with every digit."""
    if isinstance(value, Decimal):
        return render.RawNumber(str(value))
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_exact(v) for v in value]
    return value


def _reply(function: Function, request: ParsedRequest, row: Mapping[str, Any]) -> Reply:
    if function.returns_void:
        return Reply(204)
    reply = Reply(200)
    body = row["body"]
    if function.returns_set:
        count = int(row["n"])
        reply.headers["Content-Range"] = f"0-{count - 1}/*" if count else "*/*"
        if request.singular:
            if count != 1:
                raise errors.singular(count)
            body = row["one"]
    text = "null" if body is None else str(body)
    reply.content_type = CONTENT_TYPES.get(request.media, CONTENT_TYPES[Media.JSON])
    reply.body = None if request.head else text.encode()
    applied = request.preference_applied()
    if applied:
        reply.headers["Preference-Applied"] = applied
    return reply
