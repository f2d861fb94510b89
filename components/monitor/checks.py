"""`mobo health:check`: the monitor's probes, run once from the command line."""

from __future__ import annotations

from typing import Any

from components.monitor.monitor import card_check, probe_plan
from components.monitor.probes import Prober
from mobo.contract import Board
from mobo.exceptions import ComponentError
from mobo.kernel.config import Config
from mobo.kernel.keys import Keys
from mobo.kernel.registry import Registry
from mobo.kernel.status import board_redis_url
from mobo.kernel.supervisor import Supervisor


def check_now(config: Config, only: str | None = None) -> list[dict[str, Any]]:
    """Probe the board's cards (or one) now; return one row per card."""
    registry = Registry.discover()
    supervisor = Supervisor(config)
    if not supervisor.is_running():
        raise ComponentError(
            f"the board at {config.home} is not running", hint="boot it with `mobo boot`"
        )
    plan = probe_plan(config, registry, supervisor.processes())
    if only is not None:
        registry.get(only)
        if only not in plan:
            raise ComponentError(
                f"{only} is not checked on this board (stopped, unplugged or not loaded)",
                hint="see `mobo status`",
            )
        plan = {only: plan[only]}
    board = Board(config, "cli", Keys(config.namespace), board_redis_url(config))
    prober = Prober(board)
    try:
        results = prober.run({n: (card_check(registry, n), pid) for n, pid in plan.items()})
    finally:
        prober.close()
    return [
        {
            "card": n,
            "ok": c.ok,
            "state": "healthy" if c.ok else "failed",
            "detail": c.detail,
            "latency_ms": round(c.ms, 1),
        }
        for n, c in results.items()
    ]
