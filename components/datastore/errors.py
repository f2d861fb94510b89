"""Build the board's DatastoreError for a SQLSTATE, whatever engine reported it.

Each adapter turns its driver's error into (sqlstate, message, details, hint) and calls
`error_for`; the gateway later maps `code` to an HTTP status with PostgREST's table.
"""

from __future__ import annotations

from mobo.exceptions import (
    CheckViolation,
    ConstraintViolation,
    DatastoreError,
    DatastoreUnavailable,
    ForeignKeyViolation,
    NotNullViolation,
    QueryError,
    UniqueViolation,
    UnknownIdentifier,
)

CONSTRAINTS: dict[str, type[ConstraintViolation]] = {
    "23505": UniqueViolation,
    "23503": ForeignKeyViolation,
    "23502": NotNullViolation,
    "23514": CheckViolation,
}
# Server gone, shutting down, or out of connections: the store is not there right now.
UNAVAILABLE_PREFIXES = ("08", "53", "57P01", "57P02", "57P03")
UNDEFINED = ("42P01", "42703")  # the engine did not know a name: the schema cache is stale


def error_for(
    sqlstate: str | None,
    message: str,
    *,
    details: str | None = None,
    hint: str | None = None,
) -> DatastoreError:
    """Return the exception for `sqlstate`, keeping the engine's message and details."""
    code = sqlstate or None
    if code is None:
        return QueryError(message, details=details, hint=hint)
    if code.startswith(UNAVAILABLE_PREFIXES):
        return DatastoreUnavailable(message, code=code, details=details, hint=hint)
    if code in CONSTRAINTS:
        return CONSTRAINTS[code](message, code=code, details=details, hint=hint)
    if code.startswith("23"):
        return ConstraintViolation(message, code=code, details=details, hint=hint)
    if code in UNDEFINED:
        hint = hint or "The schema cache may be stale: refresh it with refresh_schema()."
        return UnknownIdentifier(message, identifier="", code=code, details=details, hint=hint)
    return QueryError(message, code=code, details=details, hint=hint)


def unavailable(message: str, *, code: str = "08006", hint: str | None = None) -> DatastoreError:
    """Return the error for a store that cannot be reached."""
    return DatastoreUnavailable(message, code=code, hint=hint)


class SetupFailed(DatastoreError):
    """A transaction's `setup` statement failed (not one of the block's own statements).

    It carries the store's error for it as `cause`, with the same code, message, details
    and hint, so a caller that does not care where it failed maps it as any other."""

    def __init__(self, cause: DatastoreError) -> None:
        super().__init__(cause.message, code=cause.code, details=cause.details, hint=cause.hint)
        self.cause = cause
