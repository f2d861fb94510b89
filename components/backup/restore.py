"""Restore a set onto this board: signature, verification, safety backup, then the stores.

    restore_set(config, "20261125T030000Z-a1b2c3")                    # this board's set
    restore_set(config, None, source=Path("/mnt/old/…"), trust_foreign=True, secret=OLD)

A set whose signature does not verify is refused before anything is read from it, so a
planted set never runs its SQL here. A set that fails verification is refused. Before
touching anything, a safety backup of what is restored over is written (a normal set
labelled `safety before restore of <id>`). With `--from` (a set from elsewhere, e.g. a
lost machine), the set's own data is restored too: mobo.toml and .mobo/secrets.toml (the
old board's id, JWT secret and keys) and the board's migrations/, the home's files being
kept as `<name>.before-restore-<time>`.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobo.kernel.config import Config, load_config

from . import manifest, owndata
from .create import create_set
from .engines import engine_module
from .errors import BackupError
from .report import Reporter
from .secret import backup_secret
from .sets import find_set
from .settings import backup_settings
from .stores import selected_stores
from .verify import plain_copy, scratch_dir, verify_set

Step = Callable[[str], None]


@dataclass
class Restored:
    id: str
    safety_set: str | None
    stores: dict[str, dict[str, int]] = field(default_factory=dict)  # row counts after
    own_data: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "safety_set": self.safety_set,
            "stores": self.stores,
            "own_data": self.own_data,
            "mismatches": self.mismatches,
            "notes": self.notes,
        }


def restore_set(
    config: Config,
    ref: str | None,
    *,
    source: Path | None = None,
    stores: Sequence[str] | None = None,
    trust_foreign: bool = False,
    secret: str | None = None,
    safety: bool = True,
    step: Step | None = None,
) -> Restored:
    """Restore a set (by id, or from a folder) onto this board; return the counts after."""
    step = step or (lambda _s: None)
    path = _locate(config, ref, source)
    body = manifest.read(path)
    foreign = trust_foreign and secret is not None
    if trust_foreign and not secret:
        raise BackupError(
            "--trust-foreign needs --secret OLD_SECRET",
            hint="the backup_secret in the old board's .mobo/secrets.toml",
        )
    manifest.check_signature(body, secret if foreign else backup_secret(config), foreign=foreign)
    names = _chosen(body, stores)
    restore_own = source is not None and not stores
    trial_config = _archived_config(config, path, body) if restore_own else config
    step("verifying")
    with Reporter(config) as reporter:
        verdict = verify_set(
            config,
            path,
            secret=secret if foreign else None,
            foreign=foreign,
            trial_config=trial_config,
            step=step,
            reporter=reporter,
        )
    if not verdict.ok:
        raise BackupError(
            f"backup set {body['id']} fails verification: {'; '.join(verdict.problems)}",
            hint="restore another set (`mobo backup:list`); this one is not restorable",
        )
    result = Restored(body["id"], None)
    if safety:
        step("safety backup")
        result.safety_set = _safety_backup(config, names, body["id"], result.notes)
    if restore_own:
        step("own data")
        result.own_data = _restore_own_data(config, path, body)
        config = load_config(config.home)  # now the old board's config and secrets
    current = selected_stores(config, None)
    settings = backup_settings(config)
    with scratch_dir(settings) as scratch:
        for name in names:
            entry = body["stores"][name]
            target = current.get(name)
            if target is None or target.engine != entry["engine"]:
                raise BackupError(
                    f"store {name} of the set is {entry['engine']}, and this board has "
                    + ("no such store" if target is None else f"a {target.engine} store {name}"),
                    hint=f"configure [datastores.{name}] with engine = {entry['engine']!r}",
                )
            step(f"restoring {name}")
            module = engine_module(entry["engine"])
            plain = plain_copy(path, entry, settings.encryption_key, scratch)
            module.restore(name, target, settings, plain)
            counts = module.count(name, target)
            result.stores[name] = counts
            result.mismatches += _mismatches(name, entry.get("tables") or {}, counts)
    _announce(config, names)
    return result


def _locate(config: Config, ref: str | None, source: Path | None) -> Path:
    if source is None:
        if not ref:
            raise BackupError("name the set to restore", hint="`mobo backup:list` shows them")
        return find_set(config, ref).path
    path = source.expanduser().resolve()
    if ref and (path / ref / manifest.FILE).is_file():
        path = path / ref
    if not (path / manifest.FILE).is_file():
        raise BackupError(
            f"{path} is not a backup set (it holds no {manifest.FILE})",
            hint="--from takes a set's folder, <dir>/<id>",
        )
    return path


def _chosen(body: dict[str, Any], stores: Sequence[str] | None) -> list[str]:
    names = list(body.get("stores") or {})
    if not stores:
        return names
    unknown = [n for n in stores if n not in names]
    if unknown:
        raise BackupError(
            f"backup set {body['id']} holds no store {unknown[0]!r}",
            hint=f"it holds: {', '.join(names) or 'no stores'}",
        )
    return [n for n in names if n in stores]


def _safety_backup(config: Config, names: list[str], set_id: str, notes: list[str]) -> str | None:
    """Back up what is about to be replaced (stores that exist here now)."""
    present = []
    for name, settings in selected_stores(config, None).items():
        if name not in names:
            continue
        if settings.engine == "sqlite" and not Path(settings.path or "").exists():
            notes.append(f"store {name} had no file yet: nothing to keep")
            continue
        present.append(name)
    try:
        path = create_set(config, stores=present, label=f"safety before restore of {set_id}")
    except BackupError as exc:
        raise BackupError(
            f"the safety backup before restoring failed: {exc}",
            hint="fix that, or restore with --no-safety-backup if the current data may be lost",
        ) from None
    return path.name


def _restore_own_data(config: Config, path: Path, body: dict[str, Any]) -> list[str]:
    settings = backup_settings(config)
    with scratch_dir(settings) as scratch:
        plain = plain_copy(path, body["own_data"], settings.encryption_key, scratch, always=True)
        return owndata.extract(plain, config.home)


def _archived_config(config: Config, path: Path, body: dict[str, Any]) -> Config:
    """Load the set's own mobo.toml (in scratch): the servers its stores will go to."""
    settings = backup_settings(config)
    with scratch_dir(settings) as scratch:
        plain = plain_copy(path, body["own_data"], settings.encryption_key, scratch, always=True)
        with tarfile.open(plain, mode="r:gz") as tar:
            member = tar.extractfile("mobo.toml")
            if member is None:
                raise BackupError("the set's own data holds no mobo.toml")
            home = scratch / "home"
            home.mkdir()
            (home / "mobo.toml").write_bytes(member.read())
        return load_config(home)


def _mismatches(name: str, expected: dict[str, int], found: dict[str, int]) -> list[str]:
    return [
        f"store {name}: table {t} has {found.get(t)} rows, the set had {n}"
        for t, n in sorted(expected.items())
        if found.get(t) != n
    ]


def _announce(config: Config, names: list[str]) -> None:
    """Tell the gateways to reload the restored stores' schemas."""
    with Reporter(config) as reporter:
        for name in names:
            reporter.emit(
                "schema.reloaded", {"store": name, "reason": "backup restored", "fingerprint": None}
            )
