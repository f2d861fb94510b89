"""A cheaper `__init__` for the frozen, slotted dataclasses built on every request.

A frozen dataclass's generated `__init__` sets each field with `object.__setattr__`;
setting it through the slot's own descriptor costs half as much (a `Cond` of 7 fields:
0.5 µs instead of 1 µs), which shows on the adapter's hot path, where a request builds a
Select, its filters and a Result. The replacement has the same parameters, defaults and
default factories, and still calls `__post_init__`; the class stays the same dataclass
(fields, eq, hash, repr, `dataclasses.replace`).
"""

from __future__ import annotations

from dataclasses import MISSING, fields, is_dataclass
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def quick_init(cls: T) -> T:
    """Replace `cls.__init__` (a frozen dataclass with slots) by one using slot setters."""
    if not is_dataclass(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a dataclass with slots")
    namespace: dict[str, Any] = {"_MISSING": MISSING}
    params, body = [], []
    for f in fields(cls):
        if not f.init:
            raise TypeError(f"{cls.__name__}.{f.name}: init=False fields are not supported")
        name = f.name  # a Python identifier from the class body, never user input
        namespace[f"_set_{name}"] = cls.__dict__[name].__set__
        if f.default is not MISSING:
            namespace[f"_default_{name}"] = f.default
            params.append(f"{name}=_default_{name}")
        elif f.default_factory is not MISSING:
            namespace[f"_factory_{name}"] = f.default_factory
            params.append(f"{name}=_MISSING")
            body.append(f"    if {name} is _MISSING:\n        {name} = _factory_{name}()")
        else:
            params.append(name)
        body.append(f"    _set_{name}(self, {name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}) -> None:\n" + "\n".join(body) + "\n"
    exec(source, namespace)  # noqa: S102 - field names only
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init  # type: ignore[misc]
    return cls
