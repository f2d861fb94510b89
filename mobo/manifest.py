"""Card manifests: `components/<card>/manifest.toml`, loaded and validated.

name = "gateway"
version = "0.1.0"
description = "REST gateway: Falcon under gunicorn"
depends_on = ["redis"]
config_sections = ["gateway"]  # mobo.toml sections that are its own ("x.*": tables by name)

[provides]
program = true                 # a supervised process: `mobo run gateway`
routes = ["/health"]           # HTTP routes mounted into the gateway
bus_handlers = []              # event patterns the card subscribes to
jobs = []                      # RQ job functions (dotted paths)
cli = []                       # extra `mobo` commands (dotted paths to click commands)
health_checks = ["http"]       # names of the card's health checks
status = "components.gateway.status:summary"  # hook: the card's fields in `mobo status`
secrets = "components.gateway.keys:generate"   # hook: secrets it needs, made at init/plug

[events]                       # the card's event types, registered when manifests load
"api.request" = "The gateway served a request; data: method, path, status, ms."
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobo.events import TYPE_PATTERN
from mobo.exceptions import ManifestError

NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
PROVIDES = ("program", "routes", "bus_handlers", "jobs", "cli", "health_checks")
# single `module:function` references (see docs/cards.md, "Hooks"); kept apart from the
# lists above so each is parsed on its own
HOOKS = ("status", "secrets")
HOOK_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclass(frozen=True, slots=True)
class Provides:
    program: bool = False
    routes: tuple[str, ...] = ()
    bus_handlers: tuple[str, ...] = ()
    jobs: tuple[str, ...] = ()
    cli: tuple[str, ...] = ()
    health_checks: tuple[str, ...] = ()
    hooks: dict[str, str] = field(default_factory=dict)  # hook name -> "module:function"


@dataclass(frozen=True, slots=True)
class Manifest:
    name: str
    version: str
    description: str
    depends_on: tuple[str, ...]
    provides: Provides
    path: Path  # the card's folder
    events: dict[str, str] = field(default_factory=dict)  # event type -> description
    config_sections: tuple[str, ...] = ()  # its mobo.toml sections; "x.*": tables by name

    @property
    def module(self) -> str:
        """The dotted module that holds the card's Component class (`CARD`): a package of
        `components`, or a top-level package for a card from $MOBO_CARD_PATH."""
        if self.path.parent.name == "components" and (self.path.parent / "__init__.py").exists():
            return f"components.{self.name}"
        return self.name


def load_manifest(path: Path) -> Manifest:
    """Load and validate one manifest file; raise ManifestError naming the file and key."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read manifest: {exc}") from None
    name = _string(raw, "name", path)
    if not NAME.match(name):
        raise ManifestError(f"{path}: name {name!r} must be lowercase letters, digits, _")
    if name != path.parent.name:
        raise ManifestError(f"{path}: name {name!r} must match its folder {path.parent.name!r}")
    return Manifest(
        name=name,
        version=_string(raw, "version", path),
        description=str(raw.get("description", "")),
        depends_on=_strings(raw, "depends_on", path),
        provides=_provides(raw.get("provides", {}), path),
        path=path.parent,
        events=_events(raw.get("events", {}), path),
        config_sections=_strings(raw, "config_sections", path),
    )


def _string(raw: dict[str, Any], key: str, path: Path) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ManifestError(f"{path}: `{key}` must be a non-empty string")
    return value


def _strings(raw: dict[str, Any], key: str, path: Path) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(f"{path}: `{key}` must be a list of strings")
    return tuple(value)


def _provides(raw: Any, path: Path) -> Provides:
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: [provides] must be a table")
    unknown = set(raw) - set(PROVIDES) - set(HOOKS)
    if unknown:
        raise ManifestError(
            f"{path}: unknown [provides] keys {sorted(unknown)}",
            hint=f"known: {', '.join((*PROVIDES, *HOOKS))}",
        )
    program = raw.get("program", False)
    if not isinstance(program, bool):
        raise ManifestError(f"{path}: provides.program must be true or false")
    lists = {key: _strings(raw, key, path) for key in PROVIDES if key != "program"}
    return Provides(program=program, hooks=_hooks(raw, path), **lists)


def _hooks(raw: dict[str, Any], path: Path) -> dict[str, str]:
    hooks = {key: raw[key] for key in HOOKS if key in raw}
    for key, ref in hooks.items():
        if not isinstance(ref, str) or not HOOK_REF.match(ref):
            raise ManifestError(
                f"{path}: provides.{key} must be a `module:function` reference",
                hint='e.g. status = "components.backup.status:summary"',
            )
    return hooks


def _events(raw: Any, path: Path) -> dict[str, str]:
    """The `[events]` table: dotted event type -> one-line description."""
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in raw.items()
    ):
        raise ManifestError(
            f"{path}: [events] must map event types to descriptions",
            hint='e.g. "backup.completed" = "A backup set was written; data: id, path."',
        )
    for type_ in raw:
        if not TYPE_PATTERN.match(type_):
            raise ManifestError(
                f"{path}: event type {type_!r} must be dotted lowercase words",
                hint="e.g. 'backup.completed'",
            )
    return dict(raw)
