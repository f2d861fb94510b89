"""MagBackup's Redis names, all under the board's namespace."""

from __future__ import annotations

from mobo.kernel.keys import Keys


def schedules(keys: Keys) -> str:
    """Hash of the schedules (field: schedule id, value: JSON); mirrored in
    `.mobo/backup-schedules.json` so they outlive a Redis restart."""
    return f"{keys.prefix}:backup:schedules"


def schedule_runs(keys: Keys) -> str:
    """Hash of the due time (epoch seconds) each schedule last fired for."""
    return f"{keys.prefix}:backup:schedule-runs"


def fire_lock(keys: Keys, schedule: str, due: int) -> str:
    """SET NX key won by the one scheduler that enqueues a schedule's run due at `due`."""
    return f"{keys.prefix}:backup:fire:{schedule}:{due}"


def prune_lock(keys: Keys) -> str:
    """SET NX key held while one process prunes the board's backup sets."""
    return f"{keys.prefix}:backup:prune-lock"
