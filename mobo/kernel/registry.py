"""Device manager: the cards present, and their dependency graph."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mobo.contract import Card
from mobo.events import register_event_type
from mobo.exceptions import CircularDependency, ComponentNotFound, ManifestError
from mobo.manifest import Manifest, load_manifest

COMPONENTS_DIR = Path(__file__).resolve().parents[2] / "components"
CARDS_PATH_ENV = "MOBO_CARD_PATH"


def extra_roots() -> list[Path]:
    """Folders named in $MOBO_CARD_PATH that exist."""
    raw = os.environ.get(CARDS_PATH_ENV, "")
    return [Path(p).resolve() for p in raw.split(os.pathsep) if p and Path(p).is_dir()]


@dataclass(frozen=True, slots=True)
class Registry:
    """The manifests of every card found, by name."""

    manifests: dict[str, Manifest]

    @classmethod
    def discover(cls, root: Path | None = None) -> Registry:
        """Load every `<root>/<card>/manifest.toml`: `components/`, then each folder in
        $MOBO_CARD_PATH (colon-separated; cards from outside the source tree); register
        the event types the cards declare."""
        roots = [root] if root is not None else [COMPONENTS_DIR, *extra_roots()]
        found: dict[str, Manifest] = {}
        for folder in roots:
            for path in sorted(folder.glob("*/manifest.toml")):
                manifest = load_manifest(path)
                if manifest.name in found:
                    raise ManifestError(
                        f"two cards are named {manifest.name!r}: "
                        f"{found[manifest.name].path} and {manifest.path}"
                    )
                found[manifest.name] = manifest
        for manifest in found.values():
            for type_, description in manifest.events.items():
                register_event_type(type_, description)
        return cls(found)

    @property
    def names(self) -> list[str]:
        return sorted(self.manifests)

    def get(self, name: str) -> Manifest:
        """Return a card's manifest; raise ComponentNotFound naming the known cards."""
        try:
            return self.manifests[name]
        except KeyError:
            raise ComponentNotFound(
                f"no card named {name!r}", hint=f"known cards: {', '.join(self.names)}"
            ) from None

    def order(self, names: list[str] | None = None) -> list[str]:
        """Return `names` (default: all) and their dependencies in boot order."""
        return [name for layer in self.layers(names) for name in layer]

    def plugged(self, unplugged: Iterable[str]) -> list[str]:
        """Return the cards not in `unplugged`, in boot order (what hosts load from)."""
        left_out = set(unplugged)
        return [
            n for n in self.order([n for n in self.names if n not in left_out]) if n not in left_out
        ]

    def layers(self, names: list[str] | None = None) -> list[list[str]]:
        """Group the boot order into layers whose cards may start together.

        `after` relations order two cards only when both are present (Home Assistant's
        after_dependencies); `depends_on` also pulls the dependency in."""
        needed = self._closure(names if names is not None else self.names)
        remaining = {
            n: {*self.manifests[n].depends_on, *(set(self.manifests[n].after) & needed)}
            for n in needed
        }
        layers: list[list[str]] = []
        while remaining:
            ready = sorted(n for n, deps in remaining.items() if not deps)
            if not ready:
                raise CircularDependency(
                    f"cards depend on each other in a cycle: {self._cycle(remaining)}",
                    hint="remove one of these depends_on entries",
                )
            layers.append(ready)
            for name in ready:
                del remaining[name]
            for deps in remaining.values():
                deps.difference_update(ready)
        return layers

    def dependents(self, name: str, among: list[str] | None = None) -> list[str]:
        """Return the cards (among `among`, default all) that depend on `name`, directly or not."""
        pool = among if among is not None else self.names
        return sorted(n for n in pool if n != name and name in self._closure([n]))

    def load(self, name: str) -> Card:
        """Import a card's module and return its Component instance (`CARD`)."""
        manifest = self.importable(name)
        module = importlib.import_module(manifest.module)
        card = getattr(module, "CARD", None)
        if card is None:
            raise ManifestError(f"{manifest.path}/__init__.py defines no `CARD`")
        return card

    def consumers(self, facility: str, unplugged: Iterable[str] = ()) -> list[str]:
        """Return the plugged cards whose manifest `consumes` a facility (`datastore.changes`)."""
        left_out = set(unplugged)
        return [
            n for n in self.names if n not in left_out and facility in self.manifests[n].consumes
        ]

    def hook(self, name: str, hook: str) -> Callable[..., Any] | None:
        """Return the function a card's manifest names for `hook` (`[provides] status =
        "module:function"`), imported now; None when the card declares no such hook."""
        ref = self.importable(name).provides.hooks.get(hook)
        if ref is None:
            return None
        found: Callable[..., Any] = resolve(name, hook, ref)
        return found

    def importable(self, name: str) -> Manifest:
        """Put a $MOBO_CARD_PATH card's folder on sys.path; return its manifest."""
        manifest = self.get(name)
        if manifest.path.parent != COMPONENTS_DIR:
            root = str(manifest.path.parent)
            if root not in sys.path:
                sys.path.append(root)
        return manifest

    def _closure(self, names: list[str]) -> set[str]:
        seen: set[str] = set()
        stack: list[tuple[str, str | None]] = [(n, None) for n in names]
        while stack:
            name, wanted_by = stack.pop()
            if name in seen:
                continue
            if name not in self.manifests:
                by = f" (wanted by {wanted_by!r})" if wanted_by else ""
                raise ComponentNotFound(
                    f"no card named {name!r}{by}", hint=f"known cards: {', '.join(self.names)}"
                )
            seen.add(name)
            stack.extend((dep, name) for dep in self.manifests[name].depends_on)
        return seen

    def _cycle(self, remaining: dict[str, set[str]]) -> str:
        """Walk unresolved edges from any node until a node repeats; return the loop."""
        path = [min(remaining)]
        while True:
            nxt = min(d for d in remaining[path[-1]] if d in remaining)
            if nxt in path:
                loop = [*path[path.index(nxt) :], nxt]
                return " -> ".join(loop)
            path.append(nxt)


def resolve(card: str, key: str, ref: str) -> Any:
    """Import `module:attr.attr`; raise ManifestError naming the card, key and reference."""
    module_name, _, path = ref.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # a card that fails to import is the card's error, not ours
        raise _unresolved(card, key, ref, f"{type(exc).__name__}: {exc}") from None
    for attr in path.split("."):
        try:
            target = getattr(target, attr)
        except AttributeError:
            raise _unresolved(card, key, ref, f"{module_name} has no {path!r}") from None
    return target


def _unresolved(card: str, key: str, ref: str, why: str) -> ManifestError:
    return ManifestError(
        f"card {card}: provides.{key} {ref!r} does not resolve ({why})",
        hint=f"fix the reference in the {card} card's manifest.toml, or unplug it",
    )
