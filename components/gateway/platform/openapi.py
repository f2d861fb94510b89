"""The OpenAPI 3.0 document of one store's live schema, served at `GET /rest/v1/`.

One path per table and view (`/{table}`; views are read-only here) with PostgREST's
query parameters and a filter parameter per column; one schema per table built from its
columns (JSON types from the neutral column kinds, `required` from NOT NULL without a
default, keys noted as PostgREST notes them); the `apikey` and bearer security schemes;
and, when MagAuth is plugged, a summary of `/auth/v1`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from components.datastore.schema import Column, Schema, Table
from components.gateway.platform import openapi_parts as parts
from components.gateway.platform.openapi_parts import ref

OPENAPI_VERSION = "3.0.3"
SERVER = "/rest/v1"
COMPONENT_NAME = re.compile(r"[^A-Za-z0-9._-]")


def component_names(tables: Iterable[str]) -> dict[str, str]:
    """Give each table a component name OpenAPI accepts, distinct from the others."""
    out: dict[str, str] = {}
    taken = {"Error"}
    for table in sorted(tables):
        base = COMPONENT_NAME.sub("_", table) or "_"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        out[table] = name
    return out


def column_schema(column: Column, table: Table, engine: str) -> dict[str, Any]:
    """Return the JSON schema of one column, with PostgREST's key notes."""
    schema = parts.kind_schema(column.kind, engine, column.type)
    size = re.search(
        r"(?:char|varchar|character varying|character)\s*\((\d+)\)", column.type.lower()
    )
    if size and schema.get("type") == "string":
        schema["maxLength"] = int(size.group(1))
    if column.nullable and "type" in schema:
        schema["nullable"] = True
    notes = [f"`{column.type}`"]
    if column.name in table.primary_key:
        notes.append("Note:\nThis is a Primary Key.<pk/>")
    for fk in table.foreign_keys:
        if column.name in fk.columns:
            target = fk.ref_columns[fk.columns.index(column.name)]
            notes.append(
                f"Note:\nThis is a Foreign Key to `{fk.ref_table}.{target}`."
                f"<fk table='{fk.ref_table}' column='{target}'/>"
            )
    if "description" in schema:
        notes.insert(0, schema.pop("description"))
    schema["description"] = "\n\n".join(notes)
    return schema


def required(column: Column) -> bool:
    """A value must be sent on insert: NOT NULL and nothing fills it in."""
    return not column.nullable and column.default is None


def table_schema(table: Table, engine: str) -> dict[str, Any]:
    props = {c.name: column_schema(c, table, engine) for c in table.columns}
    out: dict[str, Any] = {"type": "object", "properties": props}
    needed = [c.name for c in table.columns if required(c)]
    if needed:
        out["required"] = needed
    if table.kind == "view":
        out["description"] = "A view (read-only here)."
    return out


def filters(table: Table) -> list[dict[str, Any]]:
    """One query parameter per column, except names PostgREST reserves."""
    return [
        {
            "name": c.name,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": parts.FILTER_HELP,
        }
        for c in table.columns
        if c.name not in parts.RESERVED
    ]


def _rows(name: str, status: str) -> dict[str, Any]:
    rows = {"type": "array", "items": ref("schemas", name)}
    return {
        "description": status,
        "content": {
            "application/json": {"schema": rows},
            "application/vnd.pgrst.object+json": {"schema": ref("schemas", name)},
            "text/csv": {"schema": {"type": "string"}},
        },
    }


def _params(*names: str) -> list[dict[str, str]]:
    return [ref("parameters", n) for n in names]


def table_path(table: Table, name: str, columns: dict[str, Any]) -> dict[str, Any]:
    """Return the path item of one table (GET only for a view); `columns` are its
    properties' schemas, for PATCH bodies (where nothing is required)."""
    tags, errs = [table.name], {"default": ref("responses", "Error")}
    where = filters(table)
    item: dict[str, Any] = {
        "get": {
            "tags": tags,
            "summary": f"Read rows of {table.name}",
            "parameters": _params(
                "select",
                "order",
                "limit",
                "offset",
                "or",
                "and",
                "range",
                "rangeUnit",
                "preferRead",
                "acceptProfile",
            )
            + where,
            "responses": {"200": _rows(name, "OK"), "206": _rows(name, "Partial Content"), **errs},
        }
    }
    if table.kind == "view":
        return item
    row = ref("schemas", name)
    patch = {"type": "object", "properties": columns}
    written = {"201": _rows(name, "Created"), **errs}
    changed = {"200": _rows(name, "OK"), "204": {"description": "No Content"}, **errs}
    item["post"] = {
        "tags": tags,
        "summary": f"Insert (or upsert) rows into {table.name}",
        "parameters": _params("select", "on_conflict", "columns", "preferPost", "contentProfile"),
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"oneOf": [row, {"type": "array", "items": row}]}}
            },
        },
        "responses": written,
    }
    item["patch"] = {
        "tags": tags,
        "summary": f"Update the rows of {table.name} the filters select",
        "parameters": _params("select", "or", "and", "preferWrite", "contentProfile") + where,
        "requestBody": {"required": True, "content": {"application/json": {"schema": patch}}},
        "responses": changed,
    }
    item["delete"] = {
        "tags": tags,
        "summary": f"Delete the rows of {table.name} the filters select",
        "parameters": _params("select", "or", "and", "preferWrite", "contentProfile") + where,
        "responses": changed,
    }
    return item


def rpc_path() -> dict[str, Any]:
    fn = {"name": "function", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "parameters": [fn],
        "post": {
            "tags": ["rpc"],
            "summary": "Call a function of the store with named arguments",
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "responses": {
                "200": {
                    "description": "The function's result",
                    "content": {"application/json": {"schema": {}}},
                },
                "default": ref("responses", "Error"),
            },
        },
    }


def root_path() -> dict[str, Any]:
    doc = {
        "application/openapi+json": {"schema": {"type": "object"}},
        "application/json": {"schema": {"type": "object"}},
    }
    return {
        "get": {
            "tags": ["introspection"],
            "summary": "This document",
            "responses": {"200": {"description": "OK", "content": doc}},
        }
    }


def build(
    schema: Schema,
    *,
    store: str,
    engine: str,
    stores: Sequence[str],
    version: str,
    auth: bool,
    visible: Callable[[str], bool] = lambda name: True,
) -> dict[str, Any]:
    """Return the OpenAPI document of `schema` (the store named `store`), showing the
    tables `visible` accepts."""
    tables: Mapping[str, Table] = {n: t for n, t in schema.tables.items() if visible(n)}
    names = component_names(tables)
    schemas = {names[t]: table_schema(tables[t], engine) for t in tables}
    paths: dict[str, Any] = {"/": root_path()}
    for t in sorted(tables):
        item = table_path(tables[t], names[t], schemas[names[t]]["properties"])
        paths["/" + quote(t, safe="")] = item
    if engine == "postgres":
        paths["/rpc/{function}"] = rpc_path()
    if auth:
        paths.update(parts.auth_paths())
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": f"MagFlock REST API: store {store}",
            "version": version,
            "description": f"PostgREST-compatible API over the `{store}` store ({engine}). "
            "Send a key as the `apikey` header; a user's access token as `Authorization: Bearer`.",
        },
        "servers": [{"url": SERVER}],
        "security": [{"apikey": []}, {"apikey": [], "bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": parts.security_schemes(),
            "parameters": parts.parameters(list(stores)),
            "responses": parts.error_responses(),
            "schemas": {**schemas, "Error": parts.error_schema()},
        },
    }
