"""Running the cards' probes: concurrently, each with a timeout and retries."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from mobo.contract import Board, Check

MAX_PROBE_THREADS = 16
CheckFn = Callable[[Board, "int | None"], Check]  # a card's health check: (board, pid)


class Prober:
    """Runs the cards' checks `check(board, pid)` at once; a hung check times out."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self._pool = ThreadPoolExecutor(max_workers=MAX_PROBE_THREADS, thread_name_prefix="probe")

    def run(self, targets: dict[str, tuple[CheckFn, int | None]]) -> dict[str, Check]:
        """Probe every target; return each card's final outcome after retries."""
        health = self.board.config.health
        results: dict[str, Check] = {}
        pending = dict(targets)
        for _attempt in range(health.retries + 1):
            futures = {
                name: self._pool.submit(self._timed, name, check, pid)
                for name, (check, pid) in pending.items()
            }
            for name, future in futures.items():
                results[name] = self._result(name, future, health.timeout)
            pending = {n: pending[n] for n in pending if not results[n].ok}
            if not pending:
                break
        return results

    def _timed(self, name: str, probe: CheckFn, pid: int | None) -> Check:
        start = time.perf_counter()
        try:
            check = probe(self.board, pid)
        except Exception as exc:  # a probe reports, it never takes the monitor down
            check = Check(name, False, f"{type(exc).__name__}: {exc}")
        ms = (time.perf_counter() - start) * 1000
        return Check(check.name, check.ok, check.detail, check.hint, check.ms or ms)

    def _result(self, name: str, future: Future[Check], timeout: float) -> Check:
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            return Check(name, False, f"check timed out after {timeout:g}s", ms=timeout * 1000)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
