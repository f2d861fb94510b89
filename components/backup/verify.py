"""Prove a set good: its signature, the sha256 of every file, then a trial restore.

The trial restores each store's dump into scratch — a throwaway PostgreSQL database, a
throwaway MariaDB database, a temp SQLite file — on the board's own servers, counts the
rows of every table, compares them with the manifest, and drops the scratch. The result
goes to `<set>/verify.json` and the bus (`backup.verified`).
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from components.datastore.settings import StoreSettings
from mobo.kernel.config import Config

from . import manifest
from .create import iso
from .engines import engine_module
from .errors import BackupError, EncryptionError
from .files import DIR_MODE, plain_chunks, sha256_of, write_bytes, write_stream
from .report import Reporter
from .secret import backup_secret
from .sets import VERIFY_FILE
from .settings import BackupSettings, backup_settings
from .stores import selected_stores

Step = Callable[[str], None]


@dataclass
class Verdict:
    id: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    stores: dict[str, dict[str, int]] = field(default_factory=dict)  # trial row counts

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ok": self.ok, "problems": self.problems, "stores": self.stores}


def check_files(path: Path, body: dict[str, Any]) -> list[str]:
    """Return what is wrong with the set's files (missing, size, sha256)."""
    problems = []
    entries = [(f"store {n}", s) for n, s in (body.get("stores") or {}).items()]
    entries.append(("own data", body.get("own_data") or {}))
    for what, entry in entries:
        file = path / str(entry.get("file", ""))
        if not entry.get("file") or not file.is_file():
            problems.append(f"{what}: file {entry.get('file')!r} is missing")
        elif file.stat().st_size != entry.get("size"):
            problems.append(
                f"{what}: {file.name} is {file.stat().st_size} bytes, "
                f"the manifest says {entry.get('size')}"
            )
        elif sha256_of(file) != entry.get("sha256"):
            problems.append(f"{what}: {file.name} does not match its sha256 (corrupted)")
    return problems


@contextmanager
def scratch_dir(settings: BackupSettings) -> Iterator[Path]:
    """A private folder beside the sets for decrypted copies, removed afterwards."""
    settings.dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    folder = settings.dir / f".scratch-{secrets.token_hex(4)}"
    folder.mkdir(mode=DIR_MODE)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def plain_copy(
    path: Path, entry: dict[str, Any], key: str, scratch: Path, *, always: bool = False
) -> Path:
    """Return a plaintext file of the entry: the set's own file, or a decrypted scratch copy."""
    stored = path / entry["file"]
    if not (always or entry["file"].endswith(".enc")):
        return stored
    written = write_stream(scratch, f"plain-{stored.name}", plain_chunks(stored, key))
    return scratch / written.file


def trial_settings(config: Config, name: str, engine: str) -> StoreSettings:
    """Where to trial-restore a store: the board's store of that name (its server)."""
    if engine == "sqlite":
        return StoreSettings(engine="sqlite", path=":memory:")
    stores = selected_stores(config, None)
    settings = stores.get(name)
    if settings is None or settings.engine != engine:
        found = [n for n, s in stores.items() if s.engine == engine]
        if not found:
            raise BackupError(
                f"store {name} is {engine}, and this board has no {engine} store to "
                "trial-restore it on",
                hint=f"configure [datastores.{name}] with engine = {engine!r} and its dsn",
            )
        settings = stores[found[0]]
    return settings


def verify_set(
    config: Config,
    path: Path,
    *,
    secret: str | None = None,
    foreign: bool = False,
    trial_config: Config | None = None,
    step: Step | None = None,
    reporter: Reporter | None = None,
) -> Verdict:
    """Verify a set: signature (raises SignatureError), checksums, trial restore."""
    body = manifest.read(path)
    manifest.check_signature(body, secret or backup_secret(config), foreign=foreign)
    step = step or (lambda _s: None)
    verdict = Verdict(body["id"], ok=True)
    step("checksums")
    verdict.problems = check_files(path, body)
    if not verdict.problems:
        settings = backup_settings(config)
        with scratch_dir(settings) as scratch:
            for name, entry in (body.get("stores") or {}).items():
                step(f"trial restore of {name}")
                try:
                    counts = _trial(trial_config or config, settings, path, name, entry, scratch)
                except EncryptionError:
                    raise  # the key is missing or wrong: not the set's fault
                except BackupError as exc:
                    verdict.problems.append(f"store {name}: {exc}")
                    continue
                verdict.stores[name] = counts
                verdict.problems += _compare(name, entry.get("tables") or {}, counts)
            _check_own_data(path, body, settings.encryption_key, scratch, verdict)
    verdict.ok = not verdict.problems
    record = {"at": iso(datetime.now(UTC)), **verdict.as_dict()}
    write_bytes(path / VERIFY_FILE, json.dumps(record, indent=2).encode() + b"\n")
    rep = reporter or Reporter(config)
    rep.emit("backup.verified", {"id": verdict.id, "ok": verdict.ok, "problems": verdict.problems})
    if reporter is None:
        rep.close()
    return verdict


def _trial(
    config: Config,
    settings: BackupSettings,
    path: Path,
    name: str,
    entry: dict[str, Any],
    scratch: Path,
) -> dict[str, int]:
    engine = entry["engine"]
    plain = plain_copy(path, entry, settings.encryption_key, scratch, always=engine == "sqlite")
    try:
        target = trial_settings(config, name, engine)
        return engine_module(engine).trial(name, target, settings, plain)
    finally:
        if plain.parent == scratch:
            plain.unlink(missing_ok=True)


def _compare(name: str, expected: dict[str, int], found: dict[str, int]) -> list[str]:
    problems = []
    for table in sorted(set(expected) | set(found)):
        want, got = expected.get(table), found.get(table)
        if want != got:
            problems.append(
                f"store {name}: table {table} has {got} rows after a trial "
                f"restore, the manifest says {want}"
            )
    return problems


def _check_own_data(
    path: Path, body: dict[str, Any], key: str, scratch: Path, verdict: Verdict
) -> None:
    import tarfile

    try:
        plain = plain_copy(path, body["own_data"], key, scratch)
        with tarfile.open(plain, mode="r:gz") as tar:
            names = tar.getnames()
    except (BackupError, tarfile.TarError, OSError, KeyError) as exc:
        verdict.problems.append(f"own data: {exc}")
        return
    missing = [m for m in body["own_data"].get("members", []) if m not in names]
    if missing:
        verdict.problems.append(f"own data: the archive lacks {', '.join(missing)}")
