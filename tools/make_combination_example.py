"""Write the shipped combination example (``oncoresist/data/examples/combination_blocks.csv``).

Six synthetic 5 x 5 blocks of two drugs on a parental and a resistant line, three replicates,
drawn from the MuSyC model (Meyer et al. 2019) with known parameters, saved beside them in
``combination_truth.csv``: synergistic potency (alpha = 4), additive (alpha = 1) and
antagonistic (alpha = 0.25) blocks on each line. Concentrations are in µM, said in the column
names (``conc1_uM``), so the file reads without a unit option.

    python tools/make_combination_example.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from oncoresist.synergy import make_combination_screen

OUT = Path(__file__).resolve().parents[1] / "src" / "oncoresist" / "data" / "examples"


def main() -> None:
    alpha = np.array([4.0, 1.0, 0.25, 4.0, 1.0, 0.25])
    screen = make_combination_screen(
        n_blocks=3, alpha12=alpha, alpha21=alpha, samples=("parental", "resistant"),
        drugs=("drugA", "drugB"), rng=7,
    )  # fmt: skip
    data = screen.data.rename(columns={"conc1": "conc1_uM", "conc2": "conc2_uM"})
    data.round(6).to_csv(OUT / "combination_blocks.csv", index=False)
    assert screen.annotations is not None
    screen.annotations.round(6).to_csv(OUT / "combination_truth.csv", index=False)


if __name__ == "__main__":
    main()
