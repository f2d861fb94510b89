"""NVRAM: the board's system and card state in one JSON file, written atomically.

The stored object is ``{"version": 1, "system": {...}, "cards": {"<name>": {...}}, ...}``.
Writes go to a temp file in the same directory, are fsynced, then `os.replace`d over the
old file and the directory is fsynced, so a crash leaves either the old state or the
new one. Read-modify-write (`update`, `set_card`, `set_system`, `transaction`) holds an
fcntl lock on `<name>.lock` so two processes never lose each other's changes. A corrupt
state file is moved aside and the board starts from empty state: it never stops a boot.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)

STATE_VERSION = 1  # bump with a migration in `_migrate`
STATE_FILE_MODE = 0o600


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _migrate(stored: dict[str, Any], path: Path) -> dict[str, Any]:
    """Bring a stored object to STATE_VERSION and return the state without `version`."""
    state = dict(stored)
    version = state.pop("version", STATE_VERSION)
    if version != STATE_VERSION:
        LOGGER.warning(
            "state file %s has version %s, this board writes %s; reading it as is",
            path,
            version,
            STATE_VERSION,
        )
    return state


class StateStore:
    """The board's persistent state (system and cards) in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(f"{self.path.name}.lock")

    # --- reading ---------------------------------------------------------------------

    def _read(self) -> tuple[dict[str, Any], str | None]:
        """Return (state, None), or ({}, why) when the file is corrupt or unreadable."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}, None
        except OSError as exc:
            return {}, f"unreadable: {exc.strerror or exc}"
        try:
            stored = json.loads(raw)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            return {}, f"not valid JSON: {exc}"
        if not isinstance(stored, dict):
            return {}, f"holds a JSON {type(stored).__name__}, not an object"
        return _migrate(stored, self.path), None

    def _quarantine(self, why: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        try:
            os.replace(self.path, target)
        except FileNotFoundError:
            return
        except OSError as exc:
            LOGGER.warning(
                "state file %s is corrupt (%s) and could not be moved to %s (%s); "
                "starting from empty state",
                self.path,
                why,
                target,
                exc,
            )
            return
        LOGGER.warning(
            "state file %s is corrupt (%s); moved it to %s and starting from empty state",
            self.path,
            why,
            target,
        )

    def _load_locked(self) -> dict[str, Any]:
        state, why = self._read()
        if why is not None:
            self._quarantine(why)
        return state

    def load(self) -> dict[str, Any]:
        """Return the stored state; {} when the file is missing, corrupt or unreadable."""
        state, why = self._read()
        if why is None:
            return state
        with self._locked():  # re-check under the lock: another process may have fixed it
            return self._load_locked()

    def card(self, name: str) -> dict[str, Any]:
        """Return the stored state of one card ({} when there is none)."""
        cards = self.load().get("cards")
        return dict(cards.get(name) or {}) if isinstance(cards, dict) else {}

    def system(self) -> dict[str, Any]:
        """Return the stored system state ({} when there is none)."""
        system = self.load().get("system")
        return dict(system) if isinstance(system, dict) else {}

    # --- writing ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, STATE_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _write(self, state: dict[str, Any]) -> None:
        stored = {**state, "version": STATE_VERSION}
        payload = json.dumps(stored, indent=2, sort_keys=True, default=str).encode()
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.path.parent)

    def save(self, state: dict[str, Any]) -> None:
        """Replace the stored state with `state`, atomically."""
        with self._locked():
            self._write(state)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        """Yield the state under the lock; what the block leaves in it is saved."""
        with self._locked():
            state = self._load_locked()
            yield state
            self._write(state)

    def update(self, **changes: Any) -> dict[str, Any]:
        """Merge top-level keys into the stored state and return the new state."""
        with self.transaction() as state:
            state.update(changes)
        return state

    def set_card(self, name: str, **fields: Any) -> dict[str, Any]:
        """Merge fields into one card's state under "cards" and return that card's state."""
        with self.transaction() as state:
            card = _section(_section(state, "cards"), name)
            card.update(fields)
        return dict(card)

    def set_system(self, **fields: Any) -> dict[str, Any]:
        """Merge fields into the system state under "system" and return it."""
        with self.transaction() as state:
            system = _section(state, "system")
            system.update(fields)
        return dict(system)


def _section(state: dict[str, Any], key: str) -> dict[str, Any]:
    """Return state[key] as a dict, replacing anything else found there."""
    value = state.get(key)
    if not isinstance(value, dict):
        value = state[key] = {}
    return value
