"""The fixed parts of the OpenAPI document: query parameters, security, errors, auth paths."""

from __future__ import annotations

from typing import Any

from components.datastore import Kind

FILTER_HELP = (
    "Filter on this column, as `operator.value`: `eq`, `neq`, `gt`, `gte`, `lt`, `lte`, "
    '`like` and `ilike` (`*` matches any text), `in.(a,b,"c,d")`, '
    "`is.null|true|false|unknown`. Prefix `not.` to negate (`not.eq.3`); "
    "`eq`, `like` and `ilike` take `(any)`/`(all)` with a `{a,b}` list. Several filters "
    "are ANDed; use `or=(...)` for alternatives."
)
RESERVED = frozenset(
    {"select", "order", "limit", "offset", "or", "and", "not", "on_conflict", "columns"}
)


def ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _header(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "schema": schema,
        "description": description,
    }


def parameters(stores: list[str]) -> dict[str, Any]:
    """Return `components.parameters`: what every table path shares."""
    text = {"type": "string"}
    return {
        "select": _query(
            "select",
            text,
            "Columns to return, comma-separated: `*`, `col`, `alias:col`, `col::type`, "
            "`json->key`, embedded `table(*)`.",
        ),
        "order": _query("order", text, "`col.asc|desc[.nullsfirst|.nullslast]`, comma-separated."),
        "limit": _query(
            "limit", {"type": "integer", "minimum": 0}, "Return at most this many rows."
        ),
        "offset": _query("offset", {"type": "integer", "minimum": 0}, "Skip this many rows."),
        "or": _query(
            "or", text, "Rows matching any of the filters: `(col.op.value,and(col.op.value,...))`."
        ),
        "and": _query("and", text, "Rows matching all of the filters: `(col.op.value,or(...))`."),
        "on_conflict": _query(
            "on_conflict", text, "Unique columns an upsert resolves conflicts on, comma-separated."
        ),
        "columns": _query("columns", text, "Columns to take from the body, comma-separated."),
        "range": _header("Range", text, "Rows to return, `first-last` (0-based, inclusive)."),
        "rangeUnit": _header(
            "Range-Unit", {"type": "string", "default": "items"}, "Unit of Range."
        ),
        "preferRead": _header(
            "Prefer",
            {"type": "string", "enum": ["count=exact", "count=planned", "count=estimated"]},
            "Ask for the total in Content-Range.",
        ),
        "preferPost": _header(
            "Prefer",
            {
                "type": "string",
                "enum": [
                    "return=representation",
                    "return=minimal",
                    "return=headers-only",
                    "resolution=merge-duplicates",
                    "resolution=ignore-duplicates",
                ],
            },
            "What to return; upsert behaviour.",
        ),
        "preferWrite": _header(
            "Prefer",
            {"type": "string", "enum": ["return=representation", "return=minimal"]},
            "What to return.",
        ),
        "acceptProfile": _header(
            "Accept-Profile", {"type": "string", "enum": stores}, "Store to read (default: main)."
        ),
        "contentProfile": _header(
            "Content-Profile", {"type": "string", "enum": stores}, "Store to write (default: main)."
        ),
    }


def security_schemes() -> dict[str, Any]:
    return {
        "apikey": {
            "type": "apiKey",
            "in": "header",
            "name": "apikey",
            "description": "The board's `anon` or `service_role` key (`mobo keys:list`), "
            "or an API key (`mfk_…`).",
        },
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A user's access token from `/auth/v1/token`; it decides the role.",
        },
    }


def error_schema() -> dict[str, Any]:
    nullable = {"type": "string", "nullable": True}
    return {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "details": nullable,
            "hint": nullable,
        },
    }


def error_responses() -> dict[str, Any]:
    body = {"application/json": {"schema": ref("schemas", "Error")}}
    return {"Error": {"description": "PostgREST's error body", "content": body}}


def kind_schema(kind: Kind, engine: str, type_: str) -> dict[str, Any]:
    """Map a column's neutral kind to a JSON schema (values as the API returns them)."""
    low = type_.lower()
    if kind is Kind.INTEGER:
        wide = "big" in low or low == "int8" or engine == "sqlite"
        return {"type": "integer", "format": "int64" if wide else "int32"}
    simple: dict[Kind, dict[str, Any]] = {
        Kind.FLOAT: {"type": "number", "format": "double"},
        Kind.DECIMAL: {
            "type": "string",
            "format": "decimal",
            "description": "Exact decimal as text.",
        },
        Kind.TEXT: {"type": "string"},
        Kind.BOOLEAN: {"type": "boolean"},
        Kind.JSON: {"description": "Any JSON value."},
        Kind.UUID: {"type": "string", "format": "uuid"},
        Kind.DATE: {"type": "string", "format": "date"},
        Kind.TIME: {"type": "string", "format": "time"},
        Kind.TIMESTAMP: {"type": "string", "format": "timestamp", "example": "2024-01-31T12:00:00"},
        Kind.TIMESTAMPTZ: {"type": "string", "format": "date-time"},
        Kind.BYTES: {
            "type": "string",
            "format": "hex",
            "description": "Bytes as `\\x` and hex digits.",
        },
        Kind.ARRAY: {"type": "array", "items": {}},
    }
    return dict(simple.get(kind, {"description": f"Engine type {type_}."}))


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ok(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }


def auth_paths() -> dict[str, Any]:
    """Return a summary of MagAuth's `/auth/v1` endpoints (GoTrue-compatible)."""
    server = [{"url": "/"}]
    tags = ["auth"]
    creds = {
        "type": "object",
        "properties": {
            "email": {"type": "string", "format": "email"},
            "password": {"type": "string"},
            "phone": {"type": "string"},
            "data": {"type": "object"},
        },
    }
    refresh = {"type": "object", "properties": {"refresh_token": {"type": "string"}}}
    errors = {
        "default": {
            "description": "GoTrue's error body",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }

    def op(
        summary: str,
        *,
        body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None,
        ok: str = "200",
    ) -> dict[str, Any]:
        done = {"description": summary} if ok == "204" else _ok(summary)
        out: dict[str, Any] = {"tags": tags, "summary": summary, "responses": {ok: done, **errors}}
        if body is not None:
            out["requestBody"] = _body(body)
        if params:
            out["parameters"] = params
        return out

    grant = {
        "name": "grant_type",
        "in": "query",
        "required": True,
        "schema": {"type": "string", "enum": ["password", "refresh_token"]},
    }
    scope = {
        "name": "scope",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["global", "local", "others"]},
    }
    user_id = {
        "name": "user_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }
    return {
        "/auth/v1/signup": {
            "servers": server,
            "post": op("Sign up with email and password", body=creds),
        },
        "/auth/v1/token": {
            "servers": server,
            "post": op(
                "Sign in (password) or refresh a session",
                body={"oneOf": [creds, refresh]},
                params=[grant],
            ),
        },
        "/auth/v1/user": {
            "servers": server,
            "get": op("The signed-in user"),
            "put": op("Update the signed-in user", body=creds),
        },
        "/auth/v1/logout": {"servers": server, "post": op("Sign out", params=[scope], ok="204")},
        "/auth/v1/settings": {"servers": server, "get": op("The auth server's settings")},
        "/auth/v1/health": {"servers": server, "get": op("The auth server's health")},
        "/auth/v1/admin/users": {
            "servers": server,
            "get": op("List users (service role)"),
            "post": op("Create a user (service role)", body=creds),
        },
        "/auth/v1/admin/users/{user_id}": {
            "servers": server,
            "parameters": [user_id],
            "get": op("One user (service role)"),
            "put": op("Update a user (service role)", body={"type": "object"}),
            "delete": op("Delete a user (service role)"),
        },
    }
