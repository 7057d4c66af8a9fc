"""frozen.py: frozen, slotted dataclasses with written-once methods, and their fast builder."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import field

import pytest

from django_sqlmigrate.frozen import Frozen, builder, frozen_dataclass


@frozen_dataclass
class Point(Frozen):
    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def norm(self) -> int:
        return abs(self.x) + abs(self.y)


def test_it_is_a_frozen_slotted_dataclass() -> None:
    point = Point(1, y=2)
    assert dataclasses.is_dataclass(point)
    assert Point.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert getattr(Point, "__slots__", None) == ("x", "y", "tags")
    assert not hasattr(point, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 3  # type: ignore[misc]
    assert dataclasses.asdict(point) == {"x": 1, "y": 2, "tags": ()}
    assert dataclasses.replace(point, y=5) == Point(1, 5)
    assert pickle.loads(pickle.dumps(point)) == point
    assert point.norm == 3


def test_init_defaults_and_errors() -> None:
    assert Point(1) == Point(x=1, y=0, tags=())
    assert Point(1).tags is not Point(2).tags or Point(1).tags == ()
    with pytest.raises(TypeError, match="missing required argument: 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="takes 3 positional arguments but 4 were given"):
        Point(1, 2, (), 4)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        Point(1, x=2)  # type: ignore[misc]


def test_repr_eq_and_hash_follow_the_fields() -> None:
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=())"
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(2, 1)
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert len({Point(1, 2), Point(1, 2), Point(2, 1)}) == 2
    assert Point(1) != (1, 0, ())  # not a tuple


def test_builder_makes_real_instances() -> None:
    make = builder(Point)
    assert builder(Point) is make  # compiled once per class
    point = make(1, 2, ("a",))
    assert type(point) is Point
    assert point == Point(1, 2, ("a",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.y = 3  # type: ignore[misc]


def test_only_slotted_dataclasses_of_frozen() -> None:
    with pytest.raises(TypeError, match="must subclass"):

        @frozen_dataclass
        class Loose:  # not a Frozen
            x: int

    @dataclasses.dataclass(frozen=True)
    class Unslotted:
        x: int

    with pytest.raises(TypeError, match="slotted dataclass"):
        builder(Unslotted)
