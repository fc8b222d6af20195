"""Strategy: ranked ways to overcome a resistance, each with the evidence behind it (issue 15).

Work in progress: the components (connectivity scoring, selective dependencies, next drug and
combination partners from the knowledge base) are built and tested one by one; the ranking that
joins them, its CLI and report come next.
"""

from __future__ import annotations

__all__: list[str] = []
