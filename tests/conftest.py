"""Shared test fixtures."""

from __future__ import annotations

import os

import pytest

from oncoresist.data import mirror_available


def pytest_report_header(config: pytest.Config) -> str:
    mirror = os.environ.get("ONCORESIST_DATA_MIRROR", "<unset>")
    return f"oncoresist data mirror: {mirror} (available: {mirror_available()})"


def requires_mirror(dataset: str) -> pytest.MarkDecorator:
    """Skip unless the public data mirror holds ``dataset``."""
    return pytest.mark.skipif(
        not mirror_available(dataset),
        reason=f"needs ONCORESIST_DATA_MIRROR pointing at the public data with {dataset}/",
    )


# the slowest file first: with ``-n 2 --dist loadfile`` it then runs beside the rest instead of
# alone at the end (the order of the other files is kept)
_FIRST = ("test_readme.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in _FIRST)  # stable: False sorts first
