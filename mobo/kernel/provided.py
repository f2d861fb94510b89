"""What plugged cards provide: the `module:attr` references of their manifests, resolved.

Each host loads one key for the cards it serves: the gateway `routes` and `middleware`,
`mobo` its `cli`, the worker `jobs` (and the `bus_handlers` of cards without a program),
the monitor `health_checks`, a card's own process its `bus_handlers`. A reference that
does not resolve is a ManifestError naming the card, the key and the reference.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mobo.kernel.registry import Registry, resolve

if TYPE_CHECKING:
    from mobo.contract import Board


@dataclass(frozen=True, slots=True)
class Provided:
    """One resolved reference: the card that declared it, the text, the object."""

    card: str
    ref: str
    target: Any
    pattern: str = ""  # the event pattern, for a bus handler


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
