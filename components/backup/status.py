"""What MagBackup adds to `mobo status`: the newest good backup set (its `status` hook)."""

from __future__ import annotations

from typing import Any

from mobo.kernel.config import Config

from .sets import last_good


def summary(config: Config) -> dict[str, Any]:
    """Return `last_backup`: the newest good set (id, created, verified, path), or None."""
    found = last_good(config)
    if found is None:
        return {"last_backup": None}
    created = found.created.isoformat().replace("+00:00", "Z")
    return {
        "last_backup": {
            "id": found.id,
            "created": created,
            "verified": found.verified,
            "path": str(found.path),
        }
    }
