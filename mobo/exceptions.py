"""The board's one exception tree.

MoboError
├── ConfigError
├── ManifestError ── ComponentNotFound, CircularDependency
├── ComponentError ── ComponentNotReady, ComponentFatal
├── BusError ── BusUnavailable
├── SupervisorError
├── BootError
└── DatastoreError
    ├── DatastoreUnavailable
    ├── QueryError ── UnknownIdentifier, UnsupportedFeature
    │   └── ConstraintViolation ── UniqueViolation, ForeignKeyViolation,
    │                              NotNullViolation, CheckViolation
    ├── MigrationError
    └── BridgeError ── UnrepresentableValue, VerificationFailed

Foreign errors (redis, supervisor's XML-RPC, drivers) are translated into these at the
boundary of the module that talks to them; the CLI turns any `MoboError` into a one-line
message with a hint and a non-zero exit code, never a traceback.
"""

from __future__ import annotations


class MoboError(Exception):
    """Base of every error the board raises on purpose."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class ConfigError(MoboError):
    """`mobo.toml` or an environment override is missing, unreadable or invalid."""


class ManifestError(MoboError):
    """A card manifest is invalid, or the cards do not form a valid graph."""


class ComponentNotFound(ManifestError):
    """A card was named (on the command line or in depends_on) that does not exist."""


class CircularDependency(ManifestError):
    """The depends_on graph has a cycle."""


class ComponentError(MoboError):
    """A card failed to set up or run."""


class ComponentNotReady(ComponentError):
    """Setup cannot proceed yet (a dependency is down); retried with backoff."""


class ComponentFatal(ComponentError):
    """Setup can never succeed as configured; the process exits with EXIT_FATAL."""


class BusError(MoboError):
    """The event bus could not do what was asked."""


class BusUnavailable(BusError):
    """Redis, the bus, cannot be reached."""


class SupervisorError(MoboError):
    """supervisord could not be started or reached, or refused a command."""


class BootError(MoboError):
    """The board could not boot; `check` names the failed POST check or stage."""

    def __init__(self, message: str, *, check: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.check = check


class DatastoreError(MoboError):
    """A data store failed; `code` is a SQLSTATE or PostgREST code when one applies.

    `message`, `details`, `hint` and `code` are the four keys of PostgREST's error body.
    """

    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        if code is not None:
            self.code = code
        self.message = message
        self.details = details


class DatastoreUnavailable(DatastoreError):
    """A data store cannot be reached (SQLSTATE class 08, or PGRST003 for a pool timeout)."""

    code = "08006"


class MigrationError(DatastoreError):
    """A schema migration cannot be applied: an applied file changed, or a file failed."""


class QueryError(DatastoreError):
    """A query was refused by the adapter or the engine."""


class UnknownIdentifier(QueryError):
    """A table (PGRST205) or column (42703) is not in the store's schema."""

    code = "42703"

    def __init__(self, message: str, *, identifier: str, **kwargs: str | None) -> None:
        super().__init__(message, **kwargs)
        self.identifier = identifier


class UnsupportedFeature(QueryError):
    """The engine cannot do what was asked; refused rather than approximated (0A000)."""

    code = "0A000"

    def __init__(self, engine: str, feature: str, **kwargs: str | None) -> None:
        super().__init__(f"{engine} does not support {feature}", **kwargs)
        self.engine = engine
        self.feature = feature


class ConstraintViolation(QueryError):
    """A write broke an integrity constraint (SQLSTATE class 23)."""

    code = "23000"


class UniqueViolation(ConstraintViolation):
    """A unique or primary key already holds the value (23505, HTTP 409)."""

    code = "23505"


class ForeignKeyViolation(ConstraintViolation):
    """A foreign key has no referenced row, or a referenced row is still in use (23503)."""

    code = "23503"


class NotNullViolation(ConstraintViolation):
    """A NOT NULL column was given no value (23502)."""

    code = "23502"


class CheckViolation(ConstraintViolation):
    """A CHECK constraint rejected the row (23514)."""

    code = "23514"


class BridgeError(DatastoreError):
    """MagBridge could not copy a table, or could not prove a copy complete."""

    code = "MB000"


class UnrepresentableValue(BridgeError):
    """A source value cannot be stored in the target column as it is (SQLSTATE class 22).

    `table` is the source table, `key` the row's primary key (column -> value) and
    `column` the column whose value the target cannot hold.
    """

    code = "22000"

    def __init__(
        self,
        message: str,
        *,
        table: str,
        key: dict[str, object],
        column: str,
        code: str | None = None,
        details: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, code=code, details=details, hint=hint)
        self.table = table
        self.key = key
        self.column = column


class VerificationFailed(BridgeError):
    """After a copy, the target's row count or checksum differs from the source's."""

    code = "MB001"
