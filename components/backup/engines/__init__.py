"""One module per engine: dump a store, restore a dump, trial-restore it into scratch.

Each module has the same functions:

    dump(name, settings, tools, sink, scratch) -> Dumped  # sink(chunks) writes the set's file
    restore(name, settings, tools, plain: Path) -> None    # into the store itself
    trial(name, settings, tools, plain: Path) -> dict[str, int]   # scratch; row counts
    count(name, settings) -> dict[str, int]
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType

from ..files import Written

Sink = Callable[[Iterator[bytes]], Written]
SUFFIX = {"postgres": "pgdump", "sqlite": "sqlite", "mysql": "sql"}


@dataclass(frozen=True, slots=True)
class Dumped:
    written: Written
    tables: dict[str, int]
    server_version: str


def engine_module(engine: str) -> ModuleType:
    """Return the module that backs up stores of `engine`."""
    return importlib.import_module(f"components.backup.engines.{engine}")
