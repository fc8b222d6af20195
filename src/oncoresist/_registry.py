"""A small generic registry: named entries, looked up case-insensitively, listed in order.

Used by the file readers (``oncoresist.data``); the curve and synergy model registries could
use it too (they keep their own dicts for now).

>>> colours = Registry[str]("colour")
>>> colours.register("red", "#f00", aliases=("rouge",))
'#f00'
>>> colours.get("ROUGE"), colours.names()
('#f00', ['red'])
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from .errors import InputError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries by name, in registration order; names and aliases match case-insensitively.

    Parameters
    ----------
    kind
        What the entries are, for messages (``"reader"``, ``"synergy model"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    @staticmethod
    def _key(name: str) -> str:
        return name.strip().lower()

    def register(
        self, name: str, entry: T, *, aliases: Iterable[str] = (), replace: bool = False
    ) -> T:
        """Add ``entry`` under ``name`` (and ``aliases``); returns ``entry``.

        Registering a name twice is an error unless ``replace=True`` (so a typo cannot shadow
        an existing entry).
        """
        key = self._key(name)
        if not key:
            raise ValueError(f"a {self.kind} needs a non-empty name")
        taken = {key, *(self._key(a) for a in aliases)} & (set(self._entries) | set(self._aliases))
        if taken and not replace:
            raise ValueError(f"{self.kind} name(s) {sorted(taken)} already registered")
        self._entries[key] = entry
        for a in aliases:
            self._aliases[self._key(a)] = key
        return entry

    def resolve(self, name: str) -> str | None:
        """The registered name that ``name`` (or an alias) stands for, or None."""
        key = self._key(name)
        if key in self._entries:
            return key
        return self._aliases.get(key)

    def get(self, name: str) -> T:
        """The entry called ``name``; an unknown name is an :class:`InputError` listing all."""
        key = self.resolve(name)
        if key is None:
            raise InputError(f"unknown {self.kind} {name!r}; choose from {', '.join(self.names())}")
        return self._entries[key]

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """``(name, entry)`` pairs, in registration order."""
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.resolve(name) is not None

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.names())})"
