"""Card manifests: `components/<card>/manifest.toml`, loaded and validated.

name = "example"
version = "0.1.0"
description = "The example card of docs/cards.md"
depends_on = ["redis"]         # must be plugged, and start first
after = ["auth"]               # start first when plugged; not required
config_sections = ["example"]  # mobo.toml sections that are its own ("x.*": tables by name)
consumes = ["datastore.changes"]  # what of other cards it reads (here: MagDS's change feed)

[provides]                     # every reference is `module:attr`, in the card's own package
program = false                # true: a supervised process, `mobo run example`
routes = ["example.routes:mount"]         # the gateway calls mount(app, config, services)
middleware = ["example.hooks:middleware"] # the gateway adds factory(config, services)
jobs = []                      # RQ job functions the worker may run
cli = []                       # click commands (or lists of them) `mobo` adds
health_checks = []             # the monitor calls check(board, pid) -> Check

status = "example.status:summary"     # hook: the card's fields in `mobo status`
secrets = "example.keys:generate"     # hook: secrets it needs, made at init and plug
init_config = "example.settings:initial"  # hook: its section of a new mobo.toml

[provides.bus_handlers]        # event pattern = handler(board, event)
"backup.*" = "example.handlers:on_backup"

[events]                       # the card's event types, registered when manifests load
"example.pinged" = "The example route was called; data: who."

References are checked for form here; the host that loads one (`mobo.kernel.provided`)
raises a ManifestError naming the card, key and reference when it does not resolve.
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
# `package.module:attr` or `package.module:attr.attr` (as entry points are written)
REFERENCE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
REFERENCE_LISTS = ("routes", "middleware", "jobs", "cli", "health_checks")
PROVIDES = ("program", *REFERENCE_LISTS, "bus_handlers")
# single `module:function` references the kernel calls (see docs/cards.md, "Hooks")
HOOKS = ("status", "secrets", "init_config")


@dataclass(frozen=True, slots=True)
class Provides:
    """What a card brings, each a `module:attr` reference loaded by the host that runs it."""

    program: bool = False
    routes: tuple[str, ...] = ()  # the gateway calls mount(app, config, services)
    middleware: tuple[str, ...] = ()  # the gateway adds factory(config, services)
    jobs: tuple[str, ...] = ()  # RQ job functions the worker runs
    cli: tuple[str, ...] = ()  # click commands `mobo` adds
    health_checks: tuple[str, ...] = ()  # the monitor calls check(board, pid) -> Check
    bus_handlers: tuple[tuple[str, str], ...] = ()  # (event pattern, handler(board, event))
    hooks: dict[str, str] = field(default_factory=dict)  # hook name -> "module:function"


@dataclass(frozen=True, slots=True)
class Manifest:
    name: str
    version: str
    description: str
    depends_on: tuple[str, ...]
    provides: Provides
    path: Path  # the card's folder
    after: tuple[str, ...] = ()  # cards to start first when plugged; none is required
    events: dict[str, str] = field(default_factory=dict)  # event type -> description
    config_sections: tuple[str, ...] = ()  # its mobo.toml sections; "x.*": tables by name
    # facilities of other cards it reads, as "card.facility" (e.g. "datastore.changes"):
    # the providing card asks the registry whether any plugged card consumes it
    consumes: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        """The dotted module that holds the card's Component class (`CARD`): a package of
        `components`, or a top-level package for a card from $MOBO_CARD_PATH."""
        return _module(self.name, self.path)


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
        provides=_provides(raw.get("provides", {}), path, _module(name, path.parent)),
        path=path.parent,
        after=_strings(raw, "after", path),
        events=_events(raw.get("events", {}), path),
        config_sections=_strings(raw, "config_sections", path),
        consumes=_strings(raw, "consumes", path),
    )


def _module(name: str, folder: Path) -> str:
    if folder.parent.name == "components" and (folder.parent / "__init__.py").exists():
        return f"components.{name}"
    return name


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


def _provides(raw: Any, path: Path, package: str) -> Provides:
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
    lists = {key: _references(raw, key, path, package) for key in REFERENCE_LISTS}
    handlers = _bus_handlers(raw.get("bus_handlers", {}), path, package)
    hooks = {key: raw[key] for key in HOOKS if key in raw}
    for key, ref in hooks.items():
        _check_reference(ref, f"provides.{key}", path, package)
    return Provides(program=program, bus_handlers=handlers, hooks=hooks, **lists)


def _references(raw: dict[str, Any], key: str, path: Path, package: str) -> tuple[str, ...]:
    refs = _strings(raw, key, path)
    for ref in refs:
        _check_reference(ref, f"provides.{key}", path, package)
    return refs


def _bus_handlers(raw: Any, path: Path, package: str) -> tuple[tuple[str, str], ...]:
    """`[provides.bus_handlers]`: `"pattern" = "module:handler"` (or a list of them)."""
    if not isinstance(raw, dict):
        raise ManifestError(
            f'{path}: [provides.bus_handlers] must be a table of "pattern" = "module:function"'
        )
    pairs: list[tuple[str, str]] = []
    for pattern, refs in raw.items():
        for ref in [refs] if isinstance(refs, str) else refs if isinstance(refs, list) else [refs]:
            _check_reference(ref, f"provides.bus_handlers.{pattern!r}", path, package)
            pairs.append((pattern, ref))
    return tuple(pairs)


def _check_reference(ref: Any, key: str, path: Path, package: str) -> None:
    """Refuse a reference that is not `module:attr` inside the card's own package."""
    if not isinstance(ref, str) or not REFERENCE.match(ref):
        raise ManifestError(
            f"{path}: {key} entry {ref!r} must be a `module:function` reference",
            hint=f"e.g. {package}.routes:mount",
        )
    module = ref.partition(":")[0]
    if module != package and not module.startswith(package + "."):
        raise ManifestError(
            f"{path}: {key} entry {ref!r} is outside the card's package {package!r}",
            hint="a card declares only what it brings itself",
        )


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
