"""Send what libpq has buffered without holding the GIL: `send(pgconn)`.

psycopg's C generator `send` calls `PQflush` while it holds the GIL. The flush is the
`send()` system call that wakes the PostgreSQL backend, and on a busy machine the kernel
often runs the woken backend at once on the same core, preempting the sender: for as
long as the backend runs, the sender keeps the GIL, and no other thread of the process
(the gateway's event loop, its other request threads) can run Python, even on an idle
core. This generator does what psycopg's does, with `PQflush` called through ctypes,
which releases the GIL around the call. It is the same function of the same library on
the same connection: ctypes finds the libpq psycopg loaded (its own, for the binary
package) among the process's mappings, and checks its version against psycopg's.

Where that library cannot be found (another platform, several candidates) or psycopg
runs its pure-Python libpq wrapper (which is ctypes already), `send` is psycopg's own.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable, Generator
from typing import Any

from psycopg import OperationalError, pq
from psycopg.generators import send as psycopg_send
from psycopg.waiting import Ready, Wait

LOGGER = logging.getLogger(__name__)
MAPS = "/proc/self/maps"


def _find_flush() -> Callable[[int], int] | None:
    """Return libpq's PQflush callable through ctypes, or None where it cannot be had."""
    if pq.__impl__ == "python":  # psycopg's own ctypes wrapper releases the GIL already
        return None
    try:
        with open(MAPS, encoding="utf-8", errors="replace") as maps:
            paths = {
                line.split(None, 5)[-1].strip()
                for line in maps
                if "/libpq" in line and ".so" in line and len(line.split(None, 5)) == 6
            }
    except OSError:
        return None
    if len(paths) != 1:
        LOGGER.debug("libpq mappings %s: flushing with the GIL held", sorted(paths))
        return None
    try:
        lib = ctypes.CDLL(paths.pop())
        if lib.PQlibVersion() != pq.version():
            return None
        flush = lib.PQflush
    except (OSError, AttributeError):
        return None
    flush.argtypes = [ctypes.c_void_p]
    flush.restype = ctypes.c_int
    return flush  # type: ignore[no-any-return]


_FLUSH = _find_flush()


def send(pgconn: Any) -> Generator[Wait, Ready, None]:
    """Flush the connection's output as psycopg's `generators.send` does (a generator for
    `Connection.wait`), with the GIL released during each `PQflush`."""
    flush = _FLUSH
    if flush is None:
        yield from psycopg_send(pgconn)
        return
    while True:
        pointer = pgconn.pgconn_ptr
        if pointer is None:
            raise OperationalError("flushing failed: the connection is closed")
        sent = flush(pointer)
        if sent == 0:
            return
        if sent < 0:
            raise OperationalError(f"flushing failed: {pq.error_message(pgconn)}")
        ready = yield Wait.RW
        if ready & Ready.R:  # the server spoke meanwhile (notices): read it, then go on
            pgconn.consume_input()


def releases_gil() -> bool:
    """Say whether `send` flushes without the GIL here."""
    return _FLUSH is not None
