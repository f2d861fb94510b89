"""Parsed PostgREST requests, remembered per worker: an app repeats its queries.

`parse_request` costs 30-50 µs of a worker's CPU on a simple read. Its answer depends
only on the method, the path, the query string, the headers it reads (`PARSED_HEADERS`),
the profiles a header may name and whether aggregates are allowed; and it is made of
frozen values that nothing changes afterwards, so one answer can serve every request
that repeats those inputs, from any thread. The cache is a bounded LRU per worker
(`defaults.GATEWAY_PARSE_CACHE` entries). A request the parser refuses is not
remembered (its error is raised each time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

from components.gateway.postgrest.request import ParsedRequest, parse_request
from mobo import defaults

# every header parse_request reads, by name in lower case
PARSED_HEADERS = (
    "accept",
    "accept-profile",
    "content-profile",
    "content-type",
    "prefer",
    "range",
    "range-unit",
)

Pairs = tuple[tuple[str, str], ...]


def parsed(
    method: str,
    target: Sequence[str],
    params: Sequence[tuple[str, str | None]],
    headers: Mapping[str, str],
    profiles: Sequence[str],
    aggregates: bool,
) -> ParsedRequest:
    """Return `parse_request(...)`'s answer, remembered for the same inputs."""
    relevant = tuple(
        (name, value) for name, value in headers.items() if name.lower() in PARSED_HEADERS
    )
    return _parse(method, tuple(target), tuple(params), relevant, tuple(profiles), aggregates)


@lru_cache(maxsize=defaults.GATEWAY_PARSE_CACHE)
def _parse(
    method: str,
    target: tuple[str, ...],
    params: tuple[tuple[str, str | None], ...],
    headers: Pairs,
    profiles: tuple[str, ...],
    aggregates: bool,
) -> ParsedRequest:
    return parse_request(method, target, params, headers, profiles=profiles, aggregates=aggregates)


def cache_info() -> tuple[int, int, int]:
    """Return (hits, misses, entries) of this worker's cache."""
    info = _parse.cache_info()
    return info.hits, info.misses, info.currsize
