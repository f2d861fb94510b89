"""Parsed PostgREST requests, remembered per worker: an app repeats its queries.

`parse_request` costs 30-50 µs of a worker's CPU on a simple read. Its answer depends
only on the method, the path, the query string, the headers it reads (`PARSED_HEADERS`),
the profiles a header may name and whether aggregates are allowed; and it is made of
frozen values that nothing changes afterwards, so one answer can serve every request
that repeats those inputs, from any thread. The cache is a bounded LRU per worker
(`defaults.GATEWAY_PARSE_CACHE` entries). A request the parser refuses is not
remembered (its error is raised each time).

An app repeats the *shape* of its queries more than their values: `todos?id=eq.17`,
then `id=eq.18`. A filter whose operand the parser takes verbatim (`col=[not.]op.rest`
for every operator but `in` and `is`, without a modifier) is therefore remembered by its
shape: the request is parsed once with a placeholder operand, and each request of that
shape gets the remembered answer with its own operands put back in the filters. Other
parameters (`select`, `order`, `and`/`or` trees, `in.(...)`, ...) stay part of the key
verbatim.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from functools import lru_cache

from components.datastore.query import Op
from components.gateway.errors import ApiError
from components.gateway.postgrest.filters import Filter, Node
from components.gateway.postgrest.grammar import EmbedPath
from components.gateway.postgrest.params import RESERVED, last_word
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
# keys that are not filters (filters.py: everything else is a filter's column path)
NOT_FILTERS = frozenset({"order", "limit", "offset", "and", "or"})
# `[not.]op.` of an operator whose operand is the rest of the value, verbatim: every
# operator but in (a list) and is (a keyword); an Op compares equal to its word
VERBATIM_OPS = frozenset(Op) - {Op.IN, Op.IS}
_PREFIX = re.compile(r"(?:not\.)?([a-z]+)\.")
# the placeholder operand of a shape; unguessable, so no client text can look like it
_HOLE = f"\x00hole-{secrets.token_hex(8)}-"

Pairs = tuple[tuple[str, str], ...]
Params = tuple[tuple[str, str | None], ...]
# where each operand goes back: (embed path, index of the node at that level)
Slots = tuple[tuple[EmbedPath, int], ...]


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
    target = tuple(target)
    profiles = tuple(profiles)
    if len(target) == 1:  # a table: its filters are remembered by shape
        shape, operands = _shape(params)
        if operands:
            found = _template(method, target, shape, relevant, profiles, aggregates)
            if found is not None:
                return _fill(*found, operands)
    return _parse(method, target, tuple(params), relevant, profiles, aggregates)


def _shape(params: Sequence[tuple[str, str | None]]) -> tuple[Params, list[str]]:
    """Return the params with each verbatim operand left out, and those operands."""
    shape: list[tuple[str, str | None]] = []
    operands: list[str] = []
    for key, value in params:
        if value is not None and key not in RESERVED and last_word(key) not in NOT_FILTERS:
            match = _PREFIX.match(value)
            if match is not None and match.group(1) in VERBATIM_OPS:
                end = match.end()
                shape.append((key, _HOLE + value[:end]))  # no client value starts so
                operands.append(value[end:])
                continue
        shape.append((key, value))
    return tuple(shape), operands


@lru_cache(maxsize=defaults.GATEWAY_PARSE_CACHE)
def _template(
    method: str,
    target: tuple[str, ...],
    shape: Params,
    headers: Pairs,
    profiles: tuple[str, ...],
    aggregates: bool,
) -> tuple[ParsedRequest, Slots] | None:
    """Parse a shape with numbered placeholder operands; None when it cannot be one
    (the parser refuses it: the caller's own parse raises the error as it should)."""
    params, count = [], 0
    for key, value in shape:
        if value is not None and value.startswith(_HOLE):
            value = f"{value[len(_HOLE) :]}{_HOLE}{count}"
            count += 1
        params.append((key, value))
    try:
        request = parse_request(
            method, target, params, headers, profiles=profiles, aggregates=aggregates
        )
    except ApiError:  # refused: the caller parses the request itself, and is refused
        return None
    slots: list[tuple[EmbedPath, int] | None] = [None] * count
    for embed, nodes in request.filters.items():
        for index, node in enumerate(nodes):
            number = _hole_number(node)
            if number is not None and slots[number] is None:
                slots[number] = (embed, index)
    if any(slot is None for slot in slots):
        return None
    return request, tuple(slot for slot in slots if slot is not None)


def _hole_number(node: Node) -> int | None:
    if isinstance(node, Filter) and isinstance(node.value, str):
        if node.value.startswith(_HOLE):
            return int(node.value[len(_HOLE) :])
    return None


def _fill(request: ParsedRequest, slots: Slots, operands: list[str]) -> ParsedRequest:
    """Return the template `request` with `operands` in the filters `slots` name."""
    filters = dict(request.filters)
    for (embed, index), operand in zip(slots, operands, strict=True):
        nodes = list(filters[embed])
        hole = nodes[index]
        assert isinstance(hole, Filter)
        nodes[index] = Filter(
            hole.path, hole.op, operand, hole.negate, hole.modifier, hole.fts_config
        )
        filters[embed] = tuple(nodes)
    # every field in ParsedRequest's order (dataclasses.replace costs twice as much here);
    # test_rest_parsed compares the result with parse_request's
    return ParsedRequest(
        request.method,
        request.kind,
        request.name,
        request.action,
        request.profile,
        request.select,
        filters,
        request.order,
        request.pages,
        request.columns,
        request.on_conflict,
        request.rpc_args,
        request.prefer,
        request.media,
        request.strip_nulls,
        request.body_media,
    )


@lru_cache(maxsize=defaults.GATEWAY_PARSE_CACHE)
def _parse(
    method: str,
    target: tuple[str, ...],
    params: Params,
    headers: Pairs,
    profiles: tuple[str, ...],
    aggregates: bool,
) -> ParsedRequest:
    return parse_request(method, target, params, headers, profiles=profiles, aggregates=aggregates)


def cache_info() -> tuple[int, int, int]:
    """Return (hits, misses, entries) of this worker's caches (exact and by shape)."""
    exact, shaped = _parse.cache_info(), _template.cache_info()
    return (
        exact.hits + shaped.hits,
        exact.misses + shaped.misses,
        exact.currsize + shaped.currsize,
    )
