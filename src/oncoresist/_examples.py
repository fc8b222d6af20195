"""Every example file the package ships, for ``oncoresist examples``.

The README's tour runs on these: ``oncoresist examples -o examples/`` copies them into a folder.
They are small and synthetic (made from known parameters by the scripts in ``tools/``) or
hand-written inputs (a profile, tumour models and schedules).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import InputError

__all__ = ["Example", "examples", "find_example"]

# (package, folder) of each set of examples; the description says what a file is by its name
_FOLDERS = (
    ("oncoresist.data", "examples"),
    ("oncoresist.mechanisms", "examples"),
    ("oncoresist.evolution", "examples"),
)
_KINDS = {
    "prism_parental_resistant_384.txt": "plate-reader export (BioTek Gen5), 2 x 384 wells",
    "prism_plate_map.csv": "plate map of the export, as a table",
    "prism_plate_map_grid.csv": "plate map of the export, as grid blocks",
    "prism_truth.csv": "true parameters of the plate example",
    "combination_blocks.csv": "combination blocks (6 blocks, 5 x 5 doses, 3 replicates)",
    "combination_truth.csv": "true MuSyC parameters of the combination blocks",
    "nci_h1975_like.yaml": "tumour profile (EGFR L858R + T790M, CDKN2A loss)",
}


@dataclass(frozen=True)
class Example:
    """One shipped example file."""

    name: str
    path: Path
    kind: str


def _kind(path: Path) -> str:
    if path.name in _KINDS:
        return _KINDS[path.name]
    if path.parent.parent.name == "evolution":
        from .evolution import load_schedule

        try:
            load_schedule(path)
        except InputError:
            return "tumour model (simulate MODEL)"
        return "dosing schedule (simulate --schedules)"
    return "example"


def examples() -> list[Example]:
    """Every shipped example, by name (names are unique across the packages).

    >>> "combination_blocks.csv" in [e.name for e in examples()]
    True
    """
    out = []
    for package, folder in _FOLDERS:
        root = Path(str(resources.files(package).joinpath(folder)))
        for p in sorted(root.iterdir()) if root.is_dir() else []:
            if p.is_file() and not p.name.startswith((".", "_")) and p.suffix != ".py":
                out.append(Example(p.name, p, _kind(p)))
    return out


def find_example(name: str) -> Example:
    """The example called ``name`` (an :class:`InputError` listing them otherwise)."""
    found = {e.name: e for e in examples()}
    if name not in found:
        import difflib

        close = difflib.get_close_matches(name, list(found), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise InputError(
            f"no example {name!r}{hint}; `oncoresist examples` lists them: {', '.join(found)}"
        )
    return found[name]
