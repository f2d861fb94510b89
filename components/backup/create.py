"""Write one backup set: a dump per store, the own-data archive, the signed manifest.

Everything is written into `<dir>/.partial-<id>/`, each file fsynced; the manifest is
signed and written last, the folder fsynced, then renamed to `<dir>/<id>/` and the parent
fsynced. A set killed half-way stays `.partial-` (never good); any error removes it.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mobo import __version__
from mobo.kernel.config import Config

from . import manifest, owndata
from .engines import SUFFIX, engine_module
from .files import DIR_MODE, disk_errors, fsync_dir, write_stream
from .report import Reporter
from .secret import backup_secret
from .sets import PARTIAL
from .settings import backup_settings
from .stores import selected_stores

ENCRYPTED_SUFFIX = ".enc"


def new_id(now: datetime | None = None) -> str:
    """Return a set id: UTC time `YYYYmmddTHHMMSSZ`, a dash, 6 hex characters."""
    return f"{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def create_set(
    config: Config,
    *,
    stores: Sequence[str] | None = None,
    label: str | None = None,
    set_id: str | None = None,
    reporter: Reporter | None = None,
) -> Path:
    """Back up the named stores (default: all) and the own data; return the set's folder."""
    reporter = reporter or Reporter(None)
    bs = backup_settings(config)
    chosen = selected_stores(config, stores)
    secret = backup_secret(config)
    started = datetime.now(UTC)
    set_id = set_id or new_id(started)
    with disk_errors(bs.dir):
        bs.dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        partial = bs.dir / f"{PARTIAL}{set_id}"
        partial.mkdir(mode=DIR_MODE)
    reporter.emit("backup.started", {"id": set_id, "stores": list(chosen), "label": label})
    total = len(chosen) + 1
    try:
        described: dict[str, Any] = {}
        for done, (name, settings) in enumerate(chosen.items()):
            step = {"id": set_id, "stage": f"store {name}", "done": done, "total": total}
            reporter.progress({**step, "bytes": 0}, force=True)
            file = f"{name}.{SUFFIX[settings.engine]}" + (ENCRYPTED_SUFFIX if bs.encrypted else "")

            def sink(chunks: Any, file: str = file, step: dict[str, Any] = step) -> Any:
                return write_stream(
                    partial,
                    file,
                    chunks,
                    key=bs.encryption_key,
                    progress=lambda n: reporter.progress({**step, "bytes": n}),
                )

            dumped = engine_module(settings.engine).dump(name, settings, bs, sink, partial)
            described[name] = {
                "engine": settings.engine,
                **dumped.written.as_dict(),
                "tables": dumped.tables,
                "server_version": dumped.server_version,
            }
        reporter.progress(
            {"id": set_id, "stage": "own data", "done": len(chosen), "total": total, "bytes": 0},
            force=True,
        )
        data, files = owndata.archive(config.home)
        own_name = owndata.NAME + (ENCRYPTED_SUFFIX if bs.encrypted else "")
        own = write_stream(partial, own_name, owndata.chunks(data), key=bs.encryption_key)
        body = {
            "format_version": manifest.FORMAT_VERSION,
            "id": set_id,
            "label": label,
            "board_id": config.board.id,
            "magflock_version": __version__,
            "created": iso(started),
            "finished": iso(datetime.now(UTC)),
            "stores": described,
            "own_data": {**own.as_dict(), "members": files},
            "encrypted": bs.encrypted,
            "encryption": {"cipher": "AES-256-GCM", "kdf": "scrypt", "chunk": 1 << 20}
            if bs.encrypted
            else None,
        }
        manifest.write(partial, manifest.sign(body, secret))
        fsync_dir(partial)
        final = bs.dir / set_id
        os.rename(partial, final)
        fsync_dir(bs.dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    reporter.progress(
        {"id": set_id, "stage": "done", "done": total, "total": total, "bytes": 0}, force=True
    )
    reporter.emit(
        "backup.completed",
        {"id": set_id, "path": str(final), "label": label, "stores": list(chosen)},
    )
    return final
