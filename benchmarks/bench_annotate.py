"""Benchmark: annotating a profile for a panel of drugs against the GDSC reference.

Compares, in the same run, the cached path (a ``ReferencePanel``: reference lines scored once
per gene-set collection and reused for every drug and profile) with the uncached path that
re-scores the reference lines for every call (a plain matrix, as ``annotate`` did before).
Both give the same calls and percentiles (checked here).

Usage::

    ONCORESIST_DATA_MIRROR=../shared/data python benchmarks/bench_annotate.py [--quick]
"""

from __future__ import annotations

import argparse
import time

DRUGS = ["erlotinib", "gefitinib", "osimertinib", "docetaxel", "cisplatin", "olaparib",
         "venetoclax", "topotecan", "temozolomide", "paclitaxel"]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4 drugs instead of 10 (< 1 min)")
    args = ap.parse_args()
    drugs = DRUGS[:4] if args.quick else DRUGS

    import numpy as np

    from oncoresist.mechanisms import annotate, make_profile
    from oncoresist.mechanisms._scores import fetch_gdsc_reference

    ref = fetch_gdsc_reference()
    for label, tissue in (("tissue-matched (lung)", "lung"), ("all lines", None)):
        matrix, _note = ref.select(tissue)
        prof = make_profile(
            ["EGFR L858R", "EGFR T790M"],
            expression=ref.expression[["NCIH1975"]],
            sample="NCIH1975",
            tissue=tissue,
        )
        t0 = time.perf_counter()
        cached = [annotate(prof, d, reference=ref) for d in drugs]
        t_cached = time.perf_counter() - t0
        t0 = time.perf_counter()
        plain = [annotate(prof, d, reference=matrix) for d in drugs]
        t_plain = time.perf_counter() - t0
        for a, b in zip(cached, plain, strict=True):
            assert a.call == b.call
            assert np.allclose(a.scores.percentile, b.scores.percentile, equal_nan=True)
        print(
            f"{label}: {matrix.shape[1]} reference lines, {len(drugs)} drugs: cached "
            f"{t_cached / len(drugs):.2f} s/drug, re-scored {t_plain / len(drugs):.2f} s/drug, "
            f"ratio {t_plain / t_cached:.1f}x (the first cached call scores the reference)"
        )


if __name__ == "__main__":
    main()
