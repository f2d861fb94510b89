"""The per-worker cache of parsed PostgREST requests."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    assert again == first  # another key, same query: the same answer, from the cache
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


def test_a_filter_is_remembered_by_shape_and_answers_with_its_own_operand() -> None:
    first = parsed("GET", ["todos"], [("id", "eq.7"), ("done", "is.true")], {}, PROFILES, False)
    hits = cache_info()[0]
    other = parsed("GET", ["todos"], [("id", "eq.8"), ("done", "is.true")], {}, PROFILES, False)
    assert cache_info()[0] == hits + 1  # the shape id=eq.?&done=is.true was parsed once
    assert other != first
    assert other == parse_request("GET", ["todos"], [("id", "eq.8"), ("done", "is.true")], [])
    assert first == parse_request("GET", ["todos"], [("id", "eq.7"), ("done", "is.true")], [])


def test_a_refused_shape_is_refused_every_time_with_the_parsers_error() -> None:
    params = [("id", "eq.1"), ("order", "id.sideways")]
    with pytest.raises(ApiError) as expected:
        parse_request("GET", ["todos"], params, [])
    for value in ("eq.1", "eq.2"):
        with pytest.raises(ApiError) as caught:
            parsed("GET", ["todos"], [("id", value), ("order", "id.sideways")], {}, PROFILES, False)
        assert caught.value.body == expected.value.body


OPERATORS = ["eq", "neq", "gt", "like", "ilike", "in", "is", "fts", "cs", "isdistinct", "nope"]
KEYS = ["id", "title", "not", "author.name", "data->>a", "order", "limit", "or", "select"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(KEYS),
            st.tuples(
                st.sampled_from(["", "not."]),
                st.sampled_from(OPERATORS),
                st.sampled_from([".", "(any).", "(english).", ""]),
                st.text(max_size=12),
            ).map("".join),
        ),
        max_size=4,
    ),
    st.sampled_from(["GET", "PATCH", "DELETE"]),
)
def test_a_request_parsed_through_the_caches_equals_a_fresh_parse(
    params: list[tuple[str, str]], method: str
) -> None:
    """Whatever the operands, a cached answer is the parser's answer, or its refusal."""
    try:
        expected = parse_request(method, ["todos"], params, [], profiles=PROFILES)
    except ApiError as refused:
        with pytest.raises(ApiError) as caught:
            parsed(method, ["todos"], params, {}, PROFILES, False)
        assert caught.value.body == refused.body
        return
    for _ in range(2):  # the first call may fill a cache, the second reads it
        assert parsed(method, ["todos"], params, {}, PROFILES, False) == expected
