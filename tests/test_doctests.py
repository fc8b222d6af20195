"""Every example in the package's docstrings runs and prints what it says (regression guards:
the examples are documentation, and documentation that no longer runs misleads)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import oncoresist

#: modules whose import has side effects outside a program (Alembic's migration environment)
_SKIP = ("oncoresist.web.migrations",)


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(oncoresist.__path__, "oncoresist."):
        if not info.name.startswith(_SKIP):
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
