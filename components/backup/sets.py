"""The sets in a board's backup folder: listed, looked up, deleted.

A set is `<dir>/<id>/` (id = `YYYYmmddTHHMMSSZ-xxxxxx`, UTC); while written it is
`<dir>/.partial-<id>/`, which never lists as good. `good` means the manifest's signature
verifies with this board's backup secret; `verified` comes from the set's verify.json.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mobo.kernel.config import Config

from . import manifest
from .errors import BackupError
from .files import size_of
from .secret import backup_secret
from .settings import backup_settings

ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
PARTIAL = ".partial-"
VERIFY_FILE = "verify.json"


@dataclass(frozen=True, slots=True)
class BackupSet:
    id: str
    path: Path
    created: datetime
    label: str | None
    stores: list[str]
    size: int
    good: bool
    verified: bool | None
    partial: bool = False
    encrypted: bool = False
    reason: str = ""  # why the set is not good

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": str(self.path),
            "created": self.created.isoformat().replace("+00:00", "Z"),
            "label": self.label,
            "stores": self.stores,
            "size": self.size,
            "good": self.good,
            "verified": self.verified,
            "partial": self.partial,
            "encrypted": self.encrypted,
            "reason": self.reason,
        }


def config_of(board: Any) -> Config:
    """Accept a Board handle or a Config."""
    return board.config if hasattr(board, "config") and not isinstance(board, Config) else board


def backup_dir(board: Any) -> Path:
    return backup_settings(config_of(board)).dir


def id_time(set_id: str) -> datetime:
    return datetime.strptime(set_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def list_sets(board: Any) -> list[BackupSet]:
    """Return every set and unfinished set in the backup folder, newest first."""
    config = config_of(board)
    folder = backup_settings(config).dir
    if not folder.is_dir():
        return []
    secret = backup_secret(config)
    found = []
    for path in folder.iterdir():
        set_id = path.name.removeprefix(PARTIAL)
        if path.is_dir() and ID.match(set_id):
            found.append(load_set(path, secret))
    return sorted(found, key=lambda s: (s.created, s.id), reverse=True)


def load_set(path: Path, secret: str) -> BackupSet:
    """Describe one set folder (never raises for a damaged one: it is just not good)."""
    set_id = path.name.removeprefix(PARTIAL)
    partial = path.name.startswith(PARTIAL)
    try:
        body = manifest.read(path)
    except BackupError as exc:
        reason = "unfinished (.partial)" if partial else str(exc)
        return BackupSet(
            set_id,
            path,
            id_time(set_id),
            None,
            [],
            size_of(path),
            False,
            None,
            partial,
            False,
            reason,
        )
    good = not partial and manifest.signature_ok(body, secret) and body.get("id") == set_id
    reason = "" if good else ("unfinished (.partial)" if partial else "signature does not verify")
    return BackupSet(
        id=set_id,
        path=path,
        created=_created(body, set_id),
        label=body.get("label"),
        stores=sorted((body.get("stores") or {}).keys()),
        size=size_of(path),
        good=good,
        verified=verified_state(path),
        partial=partial,
        encrypted=bool(body.get("encrypted")),
        reason=reason,
    )


def _created(body: dict[str, Any], set_id: str) -> datetime:
    try:
        return datetime.fromisoformat(str(body["created"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return id_time(set_id)


def verified_state(path: Path) -> bool | None:
    try:
        return bool(json.loads((path / VERIFY_FILE).read_text()).get("ok"))
    except (OSError, ValueError, AttributeError):
        return None


def find_set(board: Any, ref: str) -> BackupSet:
    """Return the set named by id, unique id prefix, or `latest` (the newest good set)."""
    sets = [s for s in list_sets(board) if not s.partial]
    if ref == "latest":
        good = [s for s in sets if s.good]
        if not good:
            raise BackupError("there is no good backup set yet", hint="run `mobo backup:create`")
        return good[0]
    matches = [s for s in sets if s.id == ref] or [s for s in sets if s.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise BackupError(
            f"no backup set {ref!r} in {backup_dir(board)}",
            hint="`mobo backup:list` shows the sets; a set from elsewhere: --from PATH",
        )
    raise BackupError(f"{ref!r} names {len(matches)} sets", hint="give more of the id")


def delete_set(board: Any, set_id: str) -> None:
    """Delete a set (or an unfinished `.partial-` one) by its exact id."""
    if not ID.match(set_id):
        raise BackupError(f"{set_id!r} is not a backup set id (YYYYmmddTHHMMSSZ-xxxxxx)")
    folder = backup_dir(board)
    for path in (folder / set_id, folder / f"{PARTIAL}{set_id}"):
        if path.is_dir():
            shutil.rmtree(path)
            return
    raise BackupError(f"no backup set {set_id!r} in {folder}")


def last_good(board: Any) -> BackupSet | None:
    """Return the newest good set, or None."""
    return next((s for s in list_sets(board) if s.good), None)
