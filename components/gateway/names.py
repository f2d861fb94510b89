"""MagGate's Redis names, all under the board's namespace."""

from __future__ import annotations

from mobo.kernel.keys import Keys


def rate_limit(keys: Keys, bucket: str) -> str:
    """The GCRA state of one bucket (`rest:ip:1.2.3.4`): its theoretical arrival time in
    microseconds, with a TTL of the time it takes to drain."""
    return f"{keys.prefix}:rl:{bucket}"


def metrics(keys: Keys) -> str:
    """Hash of the gateway workers' metric snapshots (field `<host>:<pid>:<token>`, JSON)."""
    return f"{keys.prefix}:gateway:metrics"


def schema_version(keys: Keys, store: str) -> str:
    """The fingerprint of a store's schema the gateways last saw; the worker that changes
    it announces `schema.reloaded`."""
    return f"{keys.prefix}:schema:{store}"
