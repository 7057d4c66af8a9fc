"""Frozen, slotted dataclasses that cost little to define and little to build by the thousand.

The package's results (``SqlMigration``, ``AppliedMigration``, ``Status``...) are frozen,
slotted dataclasses. Two costs of ``@dataclass(frozen=True, slots=True)`` matter here, because
every deploy's ``sqlmigrate_apply`` and every ``sqlmigrate_status`` pays them:

- **Defining the class**: the decorator writes ``__init__``, ``__repr__``, ``__eq__`` and
  ``__hash__`` as source text and compiles it, on every start-up: about 6 million instructions
  a class, against 1.4 million for a named tuple. ``@frozen_dataclass`` takes those four from
  ``Frozen``, written once here (and compiled once, into the ``.pyc``), and lets the decorator
  do the rest: the fields, ``__slots__``, the frozen ``__setattr__``: 2.7 million.
- **Building one**: a frozen dataclass's ``__init__`` sets each field through
  ``object.__setattr__``, three times as slow as a named tuple. ``builder(cls)`` returns a
  function taking every field positionally that fills a twin class with the same slots by
  plain assignment and then gives the object its real class: the result *is* a ``cls``
  instance, built at a named tuple's cost. It is compiled on first use, once per class.

What comes out is a dataclass in every respect the ``dataclasses`` module checks:
``is_dataclass``, ``fields``, ``replace``, ``asdict``; frozen and slotted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, dataclass_transform

T = TypeVar("T")


class Frozen:
    """The methods ``@dataclass(frozen=True)`` would generate for each class, written once:
    ``__init__`` (positional or keyword, defaults and default factories), ``__repr__``,
    ``__eq__`` and ``__hash__`` over the fields, in order."""

    __slots__ = ()
    if TYPE_CHECKING:  # set by the decorator: what makes it a dataclass to ``dataclasses``
        __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names, defaults = _signature(type(self))
        if len(args) > len(names):
            raise TypeError(
                f"{type(self).__name__}() takes {len(names)} positional arguments but "
                f"{len(args)} were given"
            )
        values = dict(zip(names, args, strict=False))
        for name, value in kwargs.items():
            if name not in defaults and name not in names:
                raise TypeError(
                    f"{type(self).__name__}() got an unexpected keyword argument {name!r}"
                )
            if name in values:
                raise TypeError(
                    f"{type(self).__name__}() got multiple values for argument {name!r}"
                )
            values[name] = value
        for name in names:
            if name in values:
                value = values[name]
            elif name in defaults:
                value = defaults[name]()
            else:
                raise TypeError(f"{type(self).__name__}() missing required argument: {name!r}")
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[Any, ...]:
        names: tuple[str, ...] = self.__slots__
        return tuple(getattr(self, name) for name in names)

    def __repr__(self) -> str:
        names: tuple[str, ...] = self.__slots__
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__qualname__}({fields})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())


@dataclass_transform(frozen_default=True)
def frozen_dataclass(cls: type[T]) -> type[T]:
    """``@dataclass(frozen=True, slots=True)`` for a subclass of ``Frozen``, whose methods it
    keeps (the decorator adds the fields, ``__slots__``, the frozen ``__setattr__``)."""
    if not issubclass(cls, Frozen):
        raise TypeError(f"{cls.__name__} must subclass django_sqlmigrate.frozen.Frozen")
    return dataclasses.dataclass(frozen=True, slots=True, init=False, repr=False, eq=False)(cls)


_SIGNATURES: dict[type, tuple[tuple[str, ...], dict[str, Callable[[], Any]]]] = {}
_BUILDERS: dict[type, Callable[..., Any]] = {}


def _signature(cls: type) -> tuple[tuple[str, ...], dict[str, Callable[[], Any]]]:
    """The field names in order, and a maker of each default (worked out once per class)."""
    found = _SIGNATURES.get(cls)
    if found is None:
        found = _SIGNATURES[cls] = _read_signature(cls)
    return found


def _read_signature(cls: type) -> tuple[tuple[str, ...], dict[str, Callable[[], Any]]]:
    names = []
    defaults: dict[str, Callable[[], Any]] = {}
    for field in dataclasses.fields(cls):
        names.append(field.name)
        if field.default is not dataclasses.MISSING:
            defaults[field.name] = _constant(field.default)
        elif field.default_factory is not dataclasses.MISSING:
            defaults[field.name] = field.default_factory
    return tuple(names), defaults


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def builder(cls: type[T]) -> Callable[..., T]:
    """``make(*values)`` for the frozen, slotted dataclass ``cls``: every field, in order.
    Compiled on the first call for a class; later calls return the same function."""
    make = _BUILDERS.get(cls)
    if make is None:
        make = _BUILDERS[cls] = _compile(cls)
    return make


def _compile(cls: type) -> Callable[..., Any]:
    names = [field.name for field in dataclasses.fields(cls)]
    if tuple(names) != getattr(cls, "__slots__", None):
        raise TypeError(f"{cls.__name__} must be a slotted dataclass whose slots are its fields")
    # The same bases and slots as ``cls`` (the same memory layout), without its frozen setattr.
    twin = type(f"_{cls.__name__}Twin", cls.__bases__, {"__slots__": tuple(names)})
    arguments = ", ".join(names)
    body = "".join(f"\n    o.{name} = {name}" for name in names)
    source = (
        f"def make({arguments}):\n    o = new(twin){body}\n    o.__class__ = cls\n    return o\n"
    )
    namespace: dict[str, Any] = {"new": object.__new__, "twin": twin, "cls": cls}
    exec(source, namespace)
    make: Callable[..., Any] = namespace["make"]
    make.__qualname__ = f"builder({cls.__name__})"
    return make
