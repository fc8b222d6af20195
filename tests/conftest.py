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
