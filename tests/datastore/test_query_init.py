"""`Cond` normalizes its operator and value in `__post_init__`."""

from __future__ import annotations

import dataclasses

import pytest

from components.datastore import Cond
from components.datastore.query import Op
from mobo.exceptions import QueryError


def test_cond_normalizes_as_before() -> None:
    cond = Cond("a", "eq", 1)
    assert cond.op is Op.EQ and cond == Cond("a", Op.EQ, 1)
    assert Cond("a", "in", [1, 2]).value == (1, 2)
    assert Cond("a", "is", None).value == "null"
    assert Cond("a", "eq", [1], modifier="any").value == (1,)
    assert dataclasses.replace(cond, value=2) == Cond("a", "eq", 2)
    with pytest.raises(QueryError, match="unknown operator"):
        Cond("a", "nope", 1)
    with pytest.raises(QueryError, match="unknown operator"):
        Cond("a", ["eq"], 1)  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="list of values"):
        Cond("a", "in", "x")
    with pytest.raises(QueryError, match="configuration"):
        Cond("a", "eq", "x", config="french")
