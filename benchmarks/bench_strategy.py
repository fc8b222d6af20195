"""Time one full strategy run (every source) and connectivity of one signature vs 1,170.

Profile: BRAF V600E + NRAS Q61K melanoma (skin) resistant to vemurafenib, with every source:
knowledge base, a user synergy table (two partners), the demo's synthetic DrugZ screen
(``oncoresist.strategy._demo.demo_model``), DepMap selective dependencies, the Drug
Repurposing Hub and DrugCentral, LINCS signature reversal, GDSC / CTRP associations, the
response forecast, measured O'Neil / NCI-ALMANAC synergy and the schedule comparison
(vemurafenib is in neither combination screen, which the run says). Without ``--quick`` a
second run (EGFR L858R + T790M lung resistant to erlotinib, an O'Neil drug) adds the synergy
model for unmeasured pairs, whose one-off fit it times. The expression given is the negated LINCS consensus
signature of trametinib (a MAPK-reactivation query whose reverser must include trametinib:
a self-consistency check printed with its rank). Prints seconds per source; no thresholds.

Run: ``ONCORESIST_DATA_MIRROR=/work/shared/data python benchmarks/bench_strategy.py [--quick]``.
Without the mirror the DepMap and LINCS parts are skipped with the reason printed.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from oncoresist.data import mirror_available
from oncoresist.mechanisms import make_profile
from oncoresist.strategy._demo import demo_model
from oncoresist.strategy._strategy import suggest_strategies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller null (200 vs 1000)")
    args = parser.parse_args()
    n_null = 200 if args.quick else 1000
    have_depmap = mirror_available("depmap_25q2_chronos_subset")
    have_lincs = mirror_available("lincs_l1000_consensus_drugbank")
    expression = None
    if have_lincs:
        from oncoresist.strategy._connectivity import (
            connectivity_scores,
            load_lincs_signatures,
            signature_from_profile,
        )

        sig = load_lincs_signatures()
        expression = -sig["DB08911"]  # trametinib, negated
        q = signature_from_profile(expression)
        t0 = time.perf_counter()
        res = connectivity_scores(q.up, q.down, n_null=n_null, rng=0)
        dt = time.perf_counter() - t0
        rank = int((res.table.sort_values("score").compound == "DB08911").to_numpy().argmax()) + 1
        print(f"connectivity: one 50/50 query vs {len(res.table)} signatures (WTCS, {n_null} "
              f"null queries): {dt:.3f} s; trametinib is reverser #{rank}")  # fmt: skip
    else:
        print("connectivity: skipped (LINCS signatures not mirrored; set ONCORESIST_DATA_MIRROR)")
    if not have_depmap:
        print("DepMap dependencies: skipped (not mirrored; set ONCORESIST_DATA_MIRROR)")
    profile = make_profile(["BRAF V600E", "NRAS Q61K"], tissue="skin", sample="bench_melanoma")
    _, screen = demo_model(0)
    synergy = pd.DataFrame({"partner": ["palbociclib", "trametinib"], "score": [6.0, 4.0]})
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        s = suggest_strategies(profile, "vemurafenib", expression=expression, crispr=screen,
                               synergy=synergy, n_null=n_null, rng=0)  # fmt: skip
        total = time.perf_counter() - t0
        parts = ", ".join(f"{k} {v:.2f}" for k, v in s.timings.items())
        print(
            f"full strategy run ({label} caches): {total:.2f} s ({parts}); "
            f"{len(s.table)} rows, kinds {s.table.kind.value_counts().to_dict()}"
        )
    print(s.describe())
    if args.quick:
        print("synergy model (fit once per process, ~15 s): skipped at --quick")
        return
    egfr = make_profile(["EGFR L858R", "EGFR T790M"], tissue="lung", sample="bench_lung")
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        e = suggest_strategies(egfr, "erlotinib", n_null=n_null, rng=0)
        total = time.perf_counter() - t0
        parts = ", ".join(f"{k} {v:.2f}" for k, v in e.timings.items())
        n_pred = int((e.evidence.source == "predicted synergy (O'Neil model)").sum())
        print(f"erlotinib run with the synergy model ({label}): {total:.2f} s ({parts}); "
              f"{n_pred} predicted-synergy items")  # fmt: skip


if __name__ == "__main__":
    main()
