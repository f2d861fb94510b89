"""What plugged cards provide: the `module:attr` references of their manifests, resolved.

Each host loads one key for the cards it serves: the gateway `routes` and `middleware`,
`mobo` its `cli`, the worker `jobs` (and the `bus_handlers` of cards without a program),
the monitor `health_checks`, a card's own process its `bus_handlers`. A reference that
does not resolve is a ManifestError naming the card, the key and the reference.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mobo.exceptions import ManifestError
from mobo.kernel.registry import Registry

if TYPE_CHECKING:
    from mobo.contract import Board


@dataclass(frozen=True, slots=True)
class Provided:
    """One resolved reference: the card that declared it, the text, the object."""

    card: str
    ref: str
    target: Any
    pattern: str = ""  # the event pattern, for a bus handler


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


def provided(registry: Registry, names: list[str], key: str) -> list[Provided]:
    """Resolve `provides.<key>` of the cards `names`, in the order given."""
    found = []
    for name in names:
        manifest = registry.importable(name)
        if key == "bus_handlers":
            for pattern, ref in manifest.provides.bus_handlers:
                found.append(Provided(name, ref, resolve(name, key, ref), pattern))
            continue
        for ref in getattr(manifest.provides, key):
            found.append(Provided(name, ref, resolve(name, key, ref)))
    return found


def subscribe(board: Board, handlers: list[Provided]) -> None:
    """Subscribe each bus handler on the board's bus: called as handler(board, event)."""
    for handler in handlers:
        board.bus.on(handler.pattern, functools.partial(handler.target, board))


def _unresolved(card: str, key: str, ref: str, why: str) -> ManifestError:
    return ManifestError(
        f"card {card}: provides.{key} {ref!r} does not resolve ({why})",
        hint=f"fix the reference in the {card} card's manifest.toml, or unplug it",
    )
