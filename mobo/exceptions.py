"""The board's one exception tree.

MoboError
├── ConfigError
├── ManifestError ── ComponentNotFound, CircularDependency
├── ComponentError ── ComponentNotReady, ComponentFatal
├── BusError ── BusUnavailable
├── SupervisorError
├── BootError
└── DatastoreError ── DatastoreUnavailable, QueryError

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
    """A data store failed."""


class DatastoreUnavailable(DatastoreError):
    """A data store cannot be reached."""


class QueryError(DatastoreError):
    """A query was refused by the adapter or the engine."""
