"""The REST API's errors: PostgREST's codes, statuses and wording, and the database's.

| code       | status        | raised for                                                 |
|------------|---------------|------------------------------------------------------------|
| PGRST116   | 406           | a singular response (`vnd.pgrst.object`) with rows != 1    |
| PGRST124   | 400           | `max-affected` exceeded (with `handling=strict`)           |
| PGRST127   | 400           | valid PostgREST MagGate cannot run (`details` says what)   |
| PGRST200   | 400           | no relationship for an embed                               |
| PGRST201   | 300           | an ambiguous embed; `details` lists the candidates         |
| PGRST202   | 404           | no such function (RPC)                                     |
| PGRST203   | 300           | an overloaded function the arguments cannot choose between |
| PGRST204   | 400           | a write names a column the table does not have             |
| PGRST205   | 404           | no such table                                              |
| PGRST301/2/3 | 401         | no credentials, or credentials refused (from MagAuth)      |
| 42501      | 401 anon, else 403 | permission denied (RLS, GRANTs, or MagDS's AccessDenied) |
| MOBO413    | 413           | a request body over the gateway's limit                    |
| SQLSTATEs  | PostgREST's table (`status_for`) | what the store refused                  |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import falcon

from components.datastore.access import AccessDenied
from components.gateway.errors import ApiError
from mobo.exceptions import DatastoreError, DatastoreUnavailable

# SQLSTATE prefixes to HTTP statuses, as PostgREST's errors.rst lists them (first match wins)
STATUS_BY_CODE: tuple[tuple[str, int], ...] = (
    ("PGRST003", 504),
    ("PGRST205", 404),
    ("PGRST204", 400),
    ("PGRST", 400),
    ("08", 503),
    ("09", 500),
    ("0L", 403),
    ("0P", 403),
    ("23503", 409),
    ("23505", 409),
    ("25006", 405),
    ("25", 500),
    ("28", 403),
    ("2D", 500),
    ("38", 500),
    ("39", 500),
    ("3B", 500),
    ("40", 500),
    ("53400", 500),
    ("53", 503),
    ("54", 500),
    ("55", 500),
    ("57", 500),
    ("58", 500),
    ("F0", 500),
    ("HV", 500),
    ("P0001", 400),
    ("P0", 500),
    ("XX", 500),
    ("42883", 404),
    ("42P01", 404),
    ("42P17", 500),
)


def status_for(code: str | None, *, anonymous: bool) -> int:
    """Return PostgREST's HTTP status for a SQLSTATE or PGRST code."""
    if not code:
        return 400
    if code == "42501":
        return 401 if anonymous else 403
    if code.startswith("PT") and code[2:].isdigit() and 100 <= int(code[2:]) <= 599:
        return int(code[2:])  # RAISE sqlstate 'PT402' -> 402
    for prefix, status in STATUS_BY_CODE:
        if code.startswith(prefix):
            return status
    return 400


def api_error(
    status: int,
    code: str,
    message: str,
    *,
    details: Any = None,
    hint: str | None = None,
    headers: dict[str, str] | None = None,
) -> ApiError:
    """Return an ApiError; `details` may be any JSON value (PGRST201 lists candidates)."""
    error = ApiError(falcon.code_to_http_status(status), code, message, hint=hint, headers=headers)
    error.body["details"] = details
    return error


def from_datastore(exc: DatastoreError, *, anonymous: bool, table: str | None = None) -> ApiError:
    """Translate what a store or MagDS's access policy refused into PostgREST's answer
    (status by SQLSTATE).

    (A write's unknown payload key never gets here: it is PGRST204 before any SQL.)"""
    if isinstance(exc, AccessDenied):
        anonymous = exc.anonymous  # the policy knew whether the caller was anonymous
    code = exc.code or "PGRST100"
    message = getattr(exc, "message", str(exc))
    if code == "42P01":
        code, message = "PGRST205", f"Could not find the table '{table}' in the schema cache"
    if isinstance(exc, DatastoreUnavailable) and code != "PGRST003":
        return api_error(503, "PGRST000" if code.startswith("08") else code, message)
    if code == "0A000":  # the engine cannot do it: valid PostgREST, not runnable here
        return not_implemented(message)
    return api_error(
        status_for(code, anonymous=anonymous),
        code,
        message,
        details=getattr(exc, "details", None),
        hint=exc.hint,
    )


def not_implemented(details: str) -> ApiError:
    return api_error(400, "PGRST127", "Feature not implemented", details=details)


def singular(count: int) -> ApiError:
    return api_error(
        406,
        "PGRST116",
        "Cannot coerce the result to a single JSON object",
        details=f"The result contains {count} rows",
    )


def max_affected(count: int) -> ApiError:
    return api_error(
        400,
        "PGRST124",
        "Query result exceeds max-affected preference constraint",
        details=f"The query affects {count} rows",
    )


def unknown_column(table: str, column: str) -> ApiError:
    return api_error(
        400, "PGRST204", f"Could not find the '{column}' column of '{table}' in the schema cache"
    )


def no_relationship(parent: str, child: str, hint: str | None, schema: str) -> ApiError:
    using = f"' using the hint '{hint}" if hint else ""
    return api_error(
        400,
        "PGRST200",
        f"Could not find a relationship between '{parent}' and '{child}' in the schema cache",
        details=f"Searched for a foreign key relationship between '{parent}' and '{child}"
        f"{using}' in the schema '{schema}', but no matches were found.",
    )


def ambiguous_relationship(
    parent: str, child: str, candidates: Sequence[dict[str, str]], hints: Sequence[str]
) -> ApiError:
    listed = ", ".join(f"'{h}'" for h in hints)
    return api_error(
        300,
        "PGRST201",
        f"Could not embed because more than one relationship was found for '{parent}' and "
        f"'{child}'",
        details=list(candidates),
        hint=f"Try changing '{child}' to one of the following: {listed}. Find the desired "
        "relationship in the 'details' key.",
    )


def body_too_large(size: int, limit: int) -> ApiError:
    return api_error(
        413,
        "MOBO413",
        "Request body too large",
        details=f"The body is {size} bytes; this gateway accepts at most {limit}.",
        hint="Send fewer rows per request.",
    )
