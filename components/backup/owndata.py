"""MagFlock's own data: the files of the home that a new machine needs to be this board.

Users, password hashes, sessions, refresh tokens and API keys are rows of MagAuth's tables
in the default store (`auth.*` on PostgreSQL, `auth_*` elsewhere), and migration history is
the `mobo_migrations` table of each store: they come back with the stores' dumps. The
archive holds the rest: mobo.toml, .mobo/secrets.toml (the JWT secret, the anon and
service_role keys, the backup secret, realtime app credentials), the board's own
migrations/ and the state files worth keeping (schedules and other `.mobo/*.json`).
"""

from __future__ import annotations

import io
import shutil
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import BackupError

NAME = "own-data.tar.gz"
FILES = ("mobo.toml", ".mobo/secrets.toml")
FOLDERS = ("migrations",)
SKIPPED_STATE = {"state.json"}  # runtime facts of one boot, rebuilt on the next


def members(home: Path) -> list[Path]:
    """Return the home's files that go into the archive (relative paths)."""
    found = [Path(f) for f in FILES if (home / f).is_file()]
    for folder in FOLDERS:
        found += sorted(p.relative_to(home) for p in (home / folder).rglob("*") if p.is_file())
    state = home / ".mobo"
    found += sorted(
        p.relative_to(home)
        for p in state.glob("*.json")
        if p.is_file() and p.name not in SKIPPED_STATE
    )
    return found


def archive(home: Path) -> tuple[bytes, list[str]]:
    """Return the gzipped tar of the own data (small: config, secrets, SQL files)."""
    buffer = io.BytesIO()
    names = members(home)
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for rel in names:
            tar.add(home / rel, arcname=str(rel), recursive=False)
    return buffer.getvalue(), [str(n) for n in names]


def chunks(data: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    for start in range(0, max(len(data), 1), size):
        yield data[start : start + size]


def extract(plain: Path, home: Path) -> list[str]:
    """Put the archive's files into `home`; a replaced file is kept as `<name>.before-restore-…`."""
    restored = []
    stamp = time.strftime("%Y%m%dT%H%M%S")
    with tarfile.open(plain, mode="r:gz") as tar:
        for member in tar.getmembers():
            target = (home / member.name).resolve()
            if not member.isfile() or not target.is_relative_to(home.resolve()):
                raise BackupError(f"the own-data archive holds an unsafe entry {member.name!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                shutil.copy2(target, target.with_name(f"{target.name}.before-restore-{stamp}"))
            source = tar.extractfile(member)
            assert source is not None
            tmp = target.with_name(f".{target.name}.restoring")
            with tmp.open("wb") as out:
                shutil.copyfileobj(source, out)
            tmp.chmod(member.mode & 0o777)
            tmp.replace(target)
            restored.append(member.name)
    return restored
