"""What the worker runs for the plugged cards: their `provides.jobs`, their bus handlers.

A job is refused unless a plugged card declares its function, so a queue reached by
anyone who can write to Redis runs only the board's own jobs. The bus handlers of cards
without a process of their own are hosted here (a card with `program = true` hosts its
own, in `mobo run`); with several workers each runs them, so they must be idempotent.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rq.job import Job

from mobo.contract import Board
from mobo.exceptions import ComponentFatal, ManifestError
from mobo.kernel.provided import provided, subscribe
from mobo.kernel.registry import Registry


class DeclaredJob(Job):
    """An RQ job that runs only a function some plugged card declares."""

    declared: ClassVar[frozenset[str]] = frozenset()

    @property
    def func(self) -> Any:
        if self.func_name not in self.declared:
            raise ManifestError(
                f"job {self.func_name!r} is not declared by a plugged card",
                hint="declare it in the card's [provides] jobs, and plug the card",
            )
        return super().func


def job_class(registry: Registry, cards: list[str]) -> type[DeclaredJob]:
    """Return a Job class allowing the `cards`' declared jobs (`module.function`, RQ's form)."""
    names = frozenset(p.ref.replace(":", ".") for p in provided(registry, cards, "jobs"))
    return type("DeclaredJob", (DeclaredJob,), {"declared": names})


def host(board: Board) -> type[DeclaredJob]:
    """Load the plugged cards' jobs and subscribe the handlers of cards without a program.

    A reference that does not resolve stops the worker as a configuration error."""
    registry = Registry.discover()
    cards = registry.plugged(board.config.cards.unplugged)
    try:
        jobs = job_class(registry, cards)
        libraries = [n for n in cards if not registry.get(n).provides.program]
        handlers = provided(registry, libraries, "bus_handlers")
    except ManifestError as exc:
        raise ComponentFatal(str(exc), hint=exc.hint) from None
    if handlers:
        subscribe(board, handlers)
    return jobs
