"""PostgREST's request grammar, parsed without HTTP: what MagGate's `/rest/v1` understands.

    parse_request(method, target, params, headers) -> ParsedRequest   (request.py)
    to_query(parsed, body) -> components.datastore.query.Query        (to_query.py)

Modules, lowest first: errors (PostgREST's error codes), grammar (names, quoting, JSON
paths, values), filters, select, ranges, prefer, media, params (the query string),
request (one request), to_query (the datastore model). Every bad input raises
`components.gateway.errors.ApiError` with a 4xx status; see docs/rest.md.
"""

from __future__ import annotations

from components.gateway.postgrest.filters import And, Filter, Node, Not, Or
from components.gateway.postgrest.grammar import ColumnPath, EmbedPath, JsonStep
from components.gateway.postgrest.media import Media
from components.gateway.postgrest.params import OrderTerm
from components.gateway.postgrest.prefer import Preferences
from components.gateway.postgrest.ranges import Page
from components.gateway.postgrest.request import Action, Kind, ParsedRequest, parse_request
from components.gateway.postgrest.select import Embed, Field, Item
from components.gateway.postgrest.to_query import to_query

__all__ = [
    "Action",
    "And",
    "ColumnPath",
    "Embed",
    "EmbedPath",
    "Field",
    "Filter",
    "Item",
    "JsonStep",
    "Kind",
    "Media",
    "Node",
    "Not",
    "Or",
    "OrderTerm",
    "Page",
    "ParsedRequest",
    "Preferences",
    "parse_request",
    "to_query",
]
