"""The per-worker cache of parsed PostgREST requests."""

from __future__ import annotations

import pytest

from components.gateway.errors import ApiError
from components.gateway.postgrest.request import parse_request
from components.gateway.rest.parsed import PARSED_HEADERS, cache_info, parsed

PROFILES = ("main", "public")


def test_a_repeated_request_is_parsed_once_and_equals_a_fresh_parse() -> None:
    params = [("id", "eq.7"), ("select", "id,title")]
    headers = {"APIKEY": "k1", "Accept": "application/json"}
    first = parsed("GET", ["todos"], params, headers, PROFILES, False)
    hits = cache_info()[0]
    again = parsed("GET", ["todos"], list(params), {**headers, "APIKEY": "k2"}, PROFILES, False)
    assert again is first  # another key, same query: the same answer
    assert cache_info()[0] == hits + 1
    fresh = parse_request("GET", ["todos"], params, headers.items(), profiles=PROFILES)
    assert first == fresh


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Prefer", "count=exact"),
        ("Accept", "application/vnd.pgrst.object+json"),
        ("Range", "0-4"),
        ("Accept-Profile", "main"),
    ],
)
def test_a_header_the_parser_reads_is_part_of_the_key(name: str, value: str) -> None:
    assert name.lower() in PARSED_HEADERS
    plain = parsed("GET", ["todos"], [("id", "eq.1")], {}, PROFILES, False)
    other = parsed("GET", ["todos"], [("id", "eq.1")], {name: value}, PROFILES, False)
    assert other != plain
    assert other == parse_request(
        "GET", ["todos"], [("id", "eq.1")], [(name, value)], profiles=PROFILES
    )


def test_a_refused_request_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ApiError) as caught:
            parsed("GET", ["todos"], [("id", "nope.1")], {}, PROFILES, False)
        assert caught.value.status_code == 400
        assert caught.value.body["code"] == "PGRST100"
    with pytest.raises(ApiError):
        parsed("GET", ["todos"], [], {"Accept-Profile": "elsewhere"}, PROFILES, False)
