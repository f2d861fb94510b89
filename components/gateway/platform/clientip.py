"""Who is the client: the socket peer, or what a trusted proxy says in X-Forwarded-For.

`X-Forwarded-For` is believed only when the socket peer is a trusted proxy
(`[gateway] trusted_proxies`). The list is then read from the right, skipping hops that
are trusted proxies themselves; the first one that is not is the client. A client can
write anything at the left of the list, so nothing left of that hop is ever used.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import falcon

from components.gateway.platform.settings import Network

IPV6_BUCKET_PREFIX = 64  # one IPv6 client usually holds a whole /64
UNKNOWN = "unknown"  # a unix-socket peer, or one the server did not name


@lru_cache(maxsize=4096)
def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parse `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]:80`; None when it is none of these."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def is_trusted(
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: tuple[Network, ...]
) -> bool:
    return any(addr.version == net.version and addr in net for net in trusted)


@lru_cache(maxsize=4096)
def client_ip(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """Return the client's address as text (see the module docstring)."""
    addr = parse_ip(peer or "")
    if addr is None:
        return peer or UNKNOWN
    if not forwarded_for or not is_trusted(addr, trusted):
        return str(addr)
    for hop in reversed(forwarded_for.split(",")):
        found = parse_ip(hop)
        if found is None:
            break  # a trusted proxy would not have written this: stop at the last good hop
        addr = found
        if not is_trusted(found, trusted):
            break
    return str(addr)


def request_ip(req: falcon.Request, trusted: tuple[Network, ...]) -> str:
    """Return (and remember on the request) the client's address."""
    known = req.context.get("client_ip")
    if known is None:
        forwarded = req.get_header("X-Forwarded-For")
        if forwarded:
            known = client_ip(req.remote_addr, forwarded, trusted)
        else:  # no proxy spoke: the peer (hashing `trusted` for the cache costs more)
            known = client_ip(req.remote_addr, None, ())
        req.context.client_ip = known
    return known


@lru_cache(maxsize=4096)
def bucket_ip(ip: str) -> str:
    """Return the rate-limit identity of an address: itself, or its /64 for IPv6."""
    addr = parse_ip(ip)
    if isinstance(addr, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{addr}/{IPV6_BUCKET_PREFIX}", strict=False))
    return ip
