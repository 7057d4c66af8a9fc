"""A fast way to build many instances of a frozen, slotted dataclass.

``sqlmigrate_status`` on 10 000 files builds 30 000 result objects. A frozen dataclass's
``__init__`` sets each field through ``object.__setattr__`` (frozen classes refuse plain
assignment), which makes it three times as slow as a named tuple. ``builder(cls)`` returns a
function taking every field positionally that fills a twin class with the same slots by plain
assignment and then gives the object its real class: the result *is* a ``cls`` instance
(frozen, comparable, hashable, ``dataclasses.replace``-able), built at a named tuple's cost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def builder(cls: type[T]) -> Callable[..., T]:
    """``make(*values)`` for the frozen, slotted dataclass ``cls``: every field, in order."""
    names = [field.name for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
    if tuple(names) != getattr(cls, "__slots__", None):
        raise TypeError(f"{cls.__name__} must be a slotted dataclass whose slots are its fields")
    twin = type(f"_{cls.__name__}Twin", (), {"__slots__": tuple(names)})
    arguments = ", ".join(names)
    body = "".join(f"\n    o.{name} = {name}" for name in names)
    source = (
        f"def make({arguments}):\n    o = new(twin){body}\n    o.__class__ = cls\n    return o\n"
    )
    namespace: dict[str, Any] = {"new": object.__new__, "twin": twin, "cls": cls}
    exec(source, namespace)
    make: Callable[..., T] = namespace["make"]
    make.__qualname__ = f"builder({cls.__name__})"
    return make
