"""`Cond` has a hand-written `__init__` (the hot path skips `__post_init__` in the common
case): it must take exactly the dataclass's fields and normalize as `__post_init__` does."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from components.datastore import Cond
from components.datastore.query import Op
from mobo.exceptions import QueryError


def test_cond_init_takes_the_fields_with_their_defaults() -> None:
    params = list(inspect.signature(Cond.__init__).parameters.values())[1:]
    fields = dataclasses.fields(Cond)
    assert [p.name for p in params] == [f.name for f in fields]
    assert [p.default for p in params] == [
        inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default for f in fields
    ]


def test_cond_normalizes_as_before() -> None:
    cond = Cond("a", "eq", 1)
    assert cond.op is Op.EQ and cond == Cond("a", Op.EQ, 1)
    assert hash(cond) == hash(Cond("a", Op.EQ, 1))
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
    with pytest.raises(dataclasses.FrozenInstanceError):
        cond.value = 3  # type: ignore[misc]
