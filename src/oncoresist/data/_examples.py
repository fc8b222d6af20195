"""Small example files shipped with the package (``oncoresist/data/examples/``).

They are synthetic, made by ``tools/make_plate_examples.py`` from known parameters (listed in
``prism_truth.csv``): a BioTek-Gen5-style export of two 384-well plates (a parental and a
resistant line, three drugs, one with a 20-fold IC50 shift) and its plate map as a table and as
grid blocks.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import InputError

__all__ = ["available_examples", "example_path"]


def _folder() -> Path:
    return Path(str(resources.files("oncoresist.data").joinpath("examples")))


def available_examples() -> list[str]:
    """Names of the shipped example files.

    >>> "prism_plate_map.csv" in available_examples()
    True
    """
    folder = _folder()
    if not folder.is_dir():  # pragma: no cover - a broken installation
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def example_path(name: str) -> Path:
    """Path of the shipped example file ``name`` (see :func:`available_examples`).

    >>> example_path("prism_parental_resistant_384.txt").name
    'prism_parental_resistant_384.txt'
    """
    path = _folder() / name
    if not path.is_file():
        raise InputError(
            f"no example file {name!r}; the examples are {', '.join(available_examples())}"
        )
    return path
