"""Write the shipped plate-reader examples (``src/oncoresist/data/examples/``) from known curves.

Two 384-well plates read with CellTiter-Glo on a BioTek reader, exported from Gen5 as text: a
parental and a resistant line, three drugs x 10 doses (3-fold from 10 uM) x 3 replicates, DMSO
vehicle and staurosporine kill controls, medium-only edge wells. Responses follow
four-parameter log-logistic curves (``prism_truth.csv``), DrugA with a 20-fold IC50 shift, with
6% multiplicative and 150 RLU additive noise. Deterministic (seed 20240503): running it again
gives byte-identical files (a test checks this).

Usage: ``python tools/make_plate_examples.py [--out DIR]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SEED = 20240503
ROWS, COLS = 16, 24
LETTERS = "ABCDEFGHIJKLMNOP"
DOSES_NM = [float(f"{10000 / 3**i:.5g}") for i in range(10)]  # 10 uM .. 0.51 nM
DRUGS = ("DrugA", "DrugB", "DrugC")
# sample -> (barcode, vehicle RLU, {drug: (ic50 uM, hill slope, bottom)})
LINES = {
    "Parental": ("PAR384A", 185_000.0,
                 {"DrugA": (0.04, 1.3, 0.04), "DrugB": (0.35, 1.0, 0.10), "DrugC": (1.2, 1.6, 0.02)}),
    "Resistant": ("RES384A", 132_000.0,
                  {"DrugA": (0.80, 1.3, 0.04), "DrugB": (0.42, 1.0, 0.10), "DrugC": (2.6, 1.6, 0.02)}),
}  # fmt: skip
MEDIUM_RLU, EMPTY_RLU, KILL_VIABILITY = 420.0, 60.0, 0.01
KILL_NM = 10000.0


def layout() -> dict[tuple[int, int], tuple[str, str, float | None]]:
    """(row, col) -> (role label, drug, concentration nM) for every well of the plate."""
    wells: dict[tuple[int, int], tuple[str, str, float | None]] = {}
    for r in range(ROWS):
        for c in range(COLS):
            edge = r in (0, ROWS - 1) or c in (0, COLS - 1)
            wells[r, c] = ("blank", "", None) if edge else ("unused", "", None)
    for r in range(1, ROWS - 1):
        upper = r <= 7
        wells[r, 1] = ("DMSO", "DMSO", None) if upper else ("kill", "staurosporine", KILL_NM)
        wells[r, COLS - 2] = ("kill", "staurosporine", KILL_NM) if upper else ("DMSO", "DMSO", None)
    for d, drug in enumerate(DRUGS):
        for rep in range(3):
            for i, dose in enumerate(DOSES_NM):
                wells[1 + 3 * d + rep, 2 + i] = ("treated", drug, dose)
    return wells


def simulate(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Integer RLU grids per sample."""
    wells = layout()
    out = {}
    for sample, (_, vehicle, curves) in LINES.items():
        grid = np.zeros((ROWS, COLS))
        for (r, c), (role, drug, conc) in wells.items():
            if role == "unused":
                grid[r, c] = EMPTY_RLU + rng.normal(0, 15)
                continue
            if role == "blank":
                grid[r, c] = MEDIUM_RLU + rng.normal(0, 40)
                continue
            if role == "DMSO":
                v = 1.0
            elif role == "kill":
                v = KILL_VIABILITY
            else:
                ic50, hill, bottom = curves[drug]
                assert conc is not None
                v = bottom + (1.0 - bottom) / (1.0 + (conc / 1000.0 / ic50) ** hill)
            cells = (vehicle - MEDIUM_RLU) * v * np.exp(rng.normal(0, 0.06))
            grid[r, c] = MEDIUM_RLU + cells + rng.normal(0, 150)
        out[sample] = np.maximum(np.rint(grid), 0).astype(int)
    return out


def gen5_export(grids: dict[str, np.ndarray]) -> str:
    lines = [
        "Software Version\t3.11.19",
        "",
        "Experiment File Path:\tC:\\Users\\Public\\Documents\\Experiments\\prism_shift_2024-05-03.xpt",
        "Protocol File Path:\tC:\\Users\\Public\\Documents\\Protocols\\CTG_384_lum.prt",
        "",
    ]
    for k, (sample, grid) in enumerate(grids.items(), start=1):
        barcode = LINES[sample][0]
        lines += [
            f"Plate Number\tPlate {k}",
            f"Barcode\t{barcode}",
            "Date\t5/3/2024",
            f"Time\t2:{19 + 4 * k}:07 PM",
            "Reader Type:\tSynergy H1",
            "Reader Serial Number:\t21041516",
            "Reading Type\tReader",
            "",
            "Procedure Details",
            "",
            "Plate Type\t384 WELL PLATE (Use plate lid)",
            "Eject plate on completion\t",
            "Read\tLuminescence Endpoint",
            "\tFull Plate",
            "\tIntegration Time: 0:01.00 (MM:SS.ss)",
            "\tFilter Set 1",
            "\t    Emission: Hole",
            "\t    Optics: Top,  Gain: 135",
            "\tRead Height: 1 mm",
            "",
            "Results",
            f"Actual Temperature:\t{24.9 + 0.3 * k:.1f}",
            "",
            "\t" + "\t".join(str(c + 1) for c in range(COLS)),
        ]
        for r in range(ROWS):
            lines.append(LETTERS[r] + "\t" + "\t".join(str(v) for v in grid[r]) + "\tLum")
        lines.append("")
    return "\n".join(lines) + "\n"


def _fmt_nm(conc: float | None) -> str:
    return "" if conc is None else f"{conc:g}"


def table_map() -> str:
    wells = layout()
    out = ["plate,well,sample,drug,concentration,conc_unit,role"]
    for sample, (barcode, _, _) in LINES.items():
        for (r, c), (role, drug, conc) in sorted(wells.items()):
            with_cells = role not in ("blank", "unused")
            out.append(
                ",".join([barcode, f"{LETTERS[r]}{c + 1:02d}", sample if with_cells else "",
                          drug, _fmt_nm(conc), "nM" if conc is not None else "", role])
            )  # fmt: skip
    return "\n".join(out) + "\n"


def grid_map() -> str:
    wells = layout()
    grid_role = {"blank": "medium", "unused": "-", "DMSO": "vehicle", "kill": "kill",
                 "treated": "treated"}  # fmt: skip
    header = "," + ",".join(str(c + 1) for c in range(COLS))

    def block(title: str, cell) -> list[str]:
        rows = [title, header]
        for r in range(ROWS):
            rows.append(LETTERS[r] + "," + ",".join(cell(wells[r, c]) for c in range(COLS)))
        return [*rows, ""]

    out = ["Plate map of prism_parental_resistant_384.txt: grid blocks for every plate first", ""]
    out += block("drug", lambda w: w[1])
    out += block("concentration (nM)", lambda w: _fmt_nm(w[2]))
    out += block("role", lambda w: grid_role[w[0]])
    for sample, (barcode, _, _) in LINES.items():
        out += [f"Plate: {barcode}"]
        out += block("sample", lambda w, s=sample: s if w[0] not in ("blank", "unused") else "")
    return "\n".join(out)


def truth() -> str:
    # ic50_rel_uM is the curve's EC50; ic50_abs_uM where it crosses viability 0.5 (top = 1)
    out = ["sample,plate,drug,ic50_rel_uM,ic50_abs_uM,hill_slope,top,bottom,fold_shift"]
    for sample, (barcode, _, curves) in LINES.items():
        for drug in DRUGS:
            ic50, hill, bottom = curves[drug]
            absolute = ic50 * (0.5 / (0.5 - bottom)) ** (1.0 / hill)
            fold = ic50 / LINES["Parental"][2][drug][0]
            out.append(
                f"{sample},{barcode},{drug},{ic50:g},{absolute:.6g},{hill:g},1,{bottom:g},{fold:g}"
            )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    root = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=root / "src/oncoresist/data/examples")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    grids = simulate(np.random.default_rng(SEED))
    files = {
        "prism_parental_resistant_384.txt": gen5_export(grids),
        "prism_plate_map.csv": table_map(),
        "prism_plate_map_grid.csv": grid_map(),
        "prism_truth.csv": truth(),
    }
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {args.out / name} ({len(text.encode()) / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
