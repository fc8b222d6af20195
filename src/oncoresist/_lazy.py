"""Names of a package that load on first use (PEP 562), shared by the package ``__init__``s
that must stay light to import (``oncoresist``, ``oncoresist.report``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(
    package: str, where: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__``: ``name`` is imported from the relative module ``where[name]``
    on first use and kept in ``namespace`` (the package's globals) after that."""

    def __getattr__(name: str) -> Any:
        if name in where:
            value = getattr(importlib.import_module(where[name], package), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
