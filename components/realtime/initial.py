"""The `[realtime]` section `mobo init` writes into a new board's mobo.toml."""

from __future__ import annotations

import socket

from mobo import defaults
from mobo.kernel.supervisor import port_free

PORT = 6001  # Soketi's default; Pusher's HTTP API takes the next port

SECTION = """\
[realtime]
# MagWS: Pusher protocol 7 at ws://host:port/app/<key>, Pusher's HTTP API on http_port.
# `external = "http://soketi:6001"` publishes to an existing Soketi instead (docs/realtime.md).
host = "{host}"
port = {port}
http_port = {http_port}
"""


def initial_config(host: str = defaults.GATEWAY_HOST) -> str:
    """Return the section, on Soketi's ports when free (else two free ones)."""
    port, http_port = free_ports(host)
    return SECTION.format(host=host, port=port, http_port=http_port)


def free_ports(host: str) -> tuple[int, int]:
    """Soketi's ports (6001, 6002) when free, else two free ones: a second board made on
    the same machine then boots without a port clash."""
    wanted = (PORT, PORT + 1)
    if all(port_free(host, port) for port in wanted):
        return wanted
    socks = [socket.socket() for _ in wanted]
    try:
        for sock in socks:
            sock.bind((host, 0))
        return socks[0].getsockname()[1], socks[1].getsockname()[1]
    finally:
        for sock in socks:
            sock.close()
