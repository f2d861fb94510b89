"""The worker's typed section of mobo.toml, `[worker]` (`[provides] settings`): built and
checked by the kernel at load, read with `worker_settings(config)`."""

from __future__ import annotations

from dataclasses import dataclass

from mobo.kernel.config import Config

QUEUES = ("default", "backup", "sentinel")


@dataclass(frozen=True, slots=True)
class WorkerSection:
    queues: tuple[str, ...] = QUEUES


SECTIONS = {"worker": WorkerSection}


def worker_settings(config: Config) -> WorkerSection:
    """The board's `[worker]`, as the kernel built it at load."""
    return config.settings("worker", WorkerSection)


def initial_config(port: int | None = None) -> str:
    """The `[worker]` of a new mobo.toml (`[provides] init_config`); it serves no HTTP."""
    return "[worker]\nqueues = [" + ", ".join(f'"{q}"' for q in QUEUES) + "]\n"
