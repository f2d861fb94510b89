"""The errors the PostgREST parser raises, with PostgREST's codes, statuses and wording.

| code     | status | raised for                                                   |
|----------|--------|--------------------------------------------------------------|
| PGRST100 | 400    | a query parameter that does not parse (filter, select, ...)  |
| PGRST101 | 405    | a verb other than GET, HEAD, POST or OPTIONS on `/rpc/fn`    |
| PGRST102 | 400    | a body MagGate cannot read (Content-Type, keys, shape)       |
| PGRST103 | 416    | an impossible range (`limit=-1`, `Range: 1-0`, past the end) |
| PGRST105 | 405    | a PUT whose filters are not all `eq` on the key              |
| PGRST106 | 406    | a profile header naming a store that is not exposed          |
| PGRST107 | 406    | an Accept header with no media type MagGate can produce      |
| PGRST108 | 400    | a filter, order or limit on an embed that is not selected    |
| PGRST114 | 400    | limit/offset on a PUT                                        |
| PGRST115 | 400    | a PUT body whose key differs from the URL's                  |
| PGRST117 | 405    | an HTTP verb the resource does not have                      |
| PGRST122 | 400    | invalid preferences under `Prefer: handling=strict`          |
| PGRST123 | 400    | aggregate functions in `select=` (disabled, as by default)   |
| PGRST125 | 404    | a path that is neither `/`, `/{table}` nor `/rpc/{fn}`       |
| PGRST127 | 400    | grammar MagGate parses but cannot run yet ("not implemented") |
| 21000    | 400    | PATCH or DELETE without any filter (as pg-safeupdate)        |
"""

from __future__ import annotations

from collections.abc import Iterable

import falcon

from components.gateway.errors import ApiError


def parse_error(what: str, shown: str, column: int, details: str) -> ApiError:
    """Return PGRST100 worded as PostgREST's Parsec errors: message, then position."""
    message = f'"failed to parse {what} ({shown})" (line 1, column {column})'
    return ApiError(falcon.HTTP_400, "PGRST100", message, details=details)


def invalid_rpc_method(method: str) -> ApiError:
    return ApiError(falcon.HTTP_405, "PGRST101", f"Cannot use the {method} method on RPC")


def invalid_body(message: str) -> ApiError:
    return ApiError(falcon.HTTP_400, "PGRST102", message)


def range_error(details: str, total: int | None = None) -> ApiError:
    """Return PGRST103; with `total`, also the `Content-Range: */total` PostgREST sends."""
    headers = {"Content-Range": f"*/{total}"} if total is not None else None
    message = "Requested range not satisfiable"
    return ApiError(falcon.HTTP_416, "PGRST103", message, details=details, headers=headers)


def offset_out_of_bounds(lower: int, total: int) -> ApiError:
    """Return the 416 for an offset past the last row, once the total is known."""
    details = f"An offset of {lower} was requested, but there are only {total} rows."
    return range_error(details, total)


def invalid_put_filters() -> ApiError:
    message = "Filters must include all and only primary key columns with 'eq' operators"
    return ApiError(falcon.HTTP_405, "PGRST105", message)


def unacceptable_schema(name: str, exposed: Iterable[str]) -> ApiError:
    hint = "Only the following schemas are exposed: " + ", ".join(exposed)
    return ApiError(falcon.HTTP_406, "PGRST106", f"Invalid schema: {name}", hint=hint)


def media_type_error(types: Iterable[str]) -> ApiError:
    message = "None of these media types are available: " + ", ".join(types)
    return ApiError(falcon.HTTP_406, "PGRST107", message)


def not_embedded(resource: str) -> ApiError:
    message = f"'{resource}' is not an embedded resource in this request"
    hint = f"Verify that '{resource}' is included in the 'select' query parameter."
    return ApiError(falcon.HTTP_400, "PGRST108", message, hint=hint)


def put_limit_not_allowed() -> ApiError:
    message = "limit/offset querystring parameters are not allowed for PUT"
    return ApiError(falcon.HTTP_400, "PGRST114", message)


def put_key_mismatch() -> ApiError:
    message = "Payload values do not match URL in primary key column(s)"
    return ApiError(falcon.HTTP_400, "PGRST115", message)


def unsupported_method(method: str) -> ApiError:
    return ApiError(falcon.HTTP_405, "PGRST117", f"Unsupported HTTP method: {method}")


def invalid_preferences(prefs: Iterable[str]) -> ApiError:
    details = "Invalid preferences: " + ", ".join(prefs)
    message = "Invalid preferences given with handling=strict"
    return ApiError(falcon.HTTP_400, "PGRST122", message, details=details)


def aggregates_not_allowed() -> ApiError:
    return ApiError(falcon.HTTP_400, "PGRST123", "Use of aggregate functions is not allowed")


def invalid_path() -> ApiError:
    return ApiError(falcon.HTTP_404, "PGRST125", "Invalid path specified in request URL")


def not_implemented(details: str) -> ApiError:
    """Return PGRST127: the request is valid PostgREST but MagGate cannot run it yet."""
    return ApiError(falcon.HTTP_400, "PGRST127", "Feature not implemented", details=details)


def unfiltered_write(verb: str) -> ApiError:
    """Return the refusal of a PATCH/DELETE with no filter (pg-safeupdate's 21000)."""
    hint = (
        "Add a filter such as ?id=eq.1; to change every row on purpose, filter on a "
        "condition every row meets, such as ?id=not.is.null"
    )
    return ApiError(falcon.HTTP_400, "21000", f"{verb} requires a WHERE clause", hint=hint)
