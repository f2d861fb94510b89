"""What the access policy refuses, as domain errors; the gateway maps them to HTTP once.

DatastoreError (mobo.exceptions)
└── AccessDenied             42501: PostgREST answers 401 to an anonymous caller, else 403
    ├── PermissionDenied     an operation the caller's role was not granted on a table
    └── RowPolicyViolation   a row the ownership rule forbids (RLS's WITH CHECK wording)

The messages are PostgreSQL's own, so a refusal reads the same on every engine.
"""

from __future__ import annotations

from mobo.exceptions import DatastoreError


class AccessDenied(DatastoreError):
    """The caller may not do this; `anonymous` says whether it sent no identity (anon)."""

    code = "42501"

    def __init__(self, message: str, *, anonymous: bool, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.anonymous = anonymous


class PermissionDenied(AccessDenied):
    """The caller's role was not granted the operation on `table`."""

    def __init__(self, table: str, *, anonymous: bool) -> None:
        super().__init__(f"permission denied for table {table}", anonymous=anonymous)
        self.table = table


class RowPolicyViolation(AccessDenied):
    """A row the ownership rule forbids: someone else's, or handed to someone else."""

    def __init__(self, table: str, *, anonymous: bool) -> None:
        message = f'new row violates row-level security policy for table "{table}"'
        super().__init__(message, anonymous=anonymous)
        self.table = table
