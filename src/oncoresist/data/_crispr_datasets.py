"""Public CRISPR screen data sets and reference gene sets, through the dataset layer.

Every file is resolved by :func:`oncoresist.data._datasets.fetch_file` (mirror, cache or
source; SHA-256 checked against ``registry/files.json``):

* ``mageck_demo_wang2014_leukemia``: the MAGeCK authors' demo of the Wang et al. 2014 (Science
  343:80) KBM7 / HL60 screens, count tables together with MAGeCK's own outputs;
* ``hela_olaparib_tkov1_colic2019``: the HeLa olaparib TKOv1 screen of Zimmermann et al. 2018
  (Nature 559:285), the DrugZ paper's example (Colic et al. 2019, Genome Med 11:52);
* ``essential_gene_sets``: Hart 2014 / Hart (DepMap-distributed) / curated BAGEL / DepMap
  common-essential reference sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from ..errors import DataUnavailableError, InputError
from ._crispr import CrisprScreen, crispr_samples_from_table, read_crispr_counts
from ._datasets import data_file_errors, fetch_file

__all__ = [
    "ESSENTIAL_SETS",
    "TKOV1_CONTROL_GENES",
    "fetch_hela_olaparib",
    "fetch_mageck_demo",
    "load_essential_genes",
]

_MAGECK = "mageck_demo_wang2014_leukemia"
_HELA = "hela_olaparib_tkov1_colic2019"
_ESS = "essential_gene_sets"

_HELA_SAMPLES = (
    "HELA_T0",
    "HELA_T15A_CTRL",
    "HELA_T15A_OLA",
    "HELA_T15B_CTRL",
    "HELA_T15B_OLA",
    "HELA_T15C_CTRL",
    "HELA_T15C_OLA",
)

#: The reference gene sets of :func:`load_essential_genes`: essential file, non-essential file
#: (None: no non-essential set), and what they are.
ESSENTIAL_SETS: dict[str, tuple[str, str | None, str]] = {
    "hart2014": (
        "crispy_EssentialGenes.csv",
        "crispy_NonessentialGenes.csv",
        "Hart et al. 2014 (Mol Syst Biol 10:733) CEG / NEG reference sets (193 / 658 genes)",
    ),
    "hart2017": (
        "tidyAchilles_common_essentials.csv",
        "tidyAchilles_nonessentials.csv",
        "Hart reference essentials / non-essentials as DepMap distributes them (Hart 2015 / "
        "2017; 212 / 781 genes)",
    ),
    "bagel_curated": (
        "crispy_curated_BAGEL_essential.csv",
        "crispy_curated_BAGEL_nonEssential.csv",
        "curated BAGEL reference sets (Behan et al. 2019, Nature 568:511; 326 / 921 genes)",
    ),
    "depmap_common": (
        "egbench_depmap26q1_gene_universe.parquet",
        None,
        "DepMap 26Q1 official common essentials (1,827 genes; no non-essential set)",
    ),
}


def _gene_column(path: Path) -> frozenset[str]:
    with data_file_errors(path):
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path, columns=["gene_symbol", "official_common_essential"])
            genes = frame.loc[frame["official_common_essential"] == 1, "gene_symbol"]
        else:
            genes = pd.read_csv(path)["gene"]
    # older DepMap lists are "SYMBOL (Entrez)"
    sym = genes.dropna().astype(str).str.split(" ").str[0].str.strip()
    return frozenset(sym[sym != ""])


def load_essential_genes(
    which: Literal["hart2014", "hart2017", "bagel_curated", "depmap_common"] = "hart2014",
) -> tuple[frozenset[str], frozenset[str] | None]:
    """Reference essential and non-essential genes (HGNC symbols).

    Parameters
    ----------
    which
        A key of :data:`ESSENTIAL_SETS`.

    Returns
    -------
    essential, nonessential
        Frozensets of symbols; ``nonessential`` is None for ``depmap_common``.

    Examples
    --------
    >>> ess, non = load_essential_genes("hart2014")  # doctest: +SKIP
    >>> len(ess), len(non)  # doctest: +SKIP
    (193, 658)
    """
    if which not in ESSENTIAL_SETS:
        raise InputError(
            f"unknown essential gene set {which!r}; choose from {', '.join(ESSENTIAL_SETS)}"
        )
    ess_file, non_file, _ = ESSENTIAL_SETS[which]
    ess = _gene_column(fetch_file(_ESS, ess_file))
    non = None if non_file is None else _gene_column(fetch_file(_ESS, non_file))
    return ess, non


#: The non-human targets of the TKOv1 library's control guides (Hart et al. 2015, Cell 163:1515).
TKOV1_CONTROL_GENES = ("EGFP", "LacZ", "luciferase")


def fetch_hela_olaparib(
    *, control_genes: Sequence[str] | None = TKOV1_CONTROL_GENES
) -> CrisprScreen:
    """The HeLa olaparib TKOv1 screen (Zimmermann 2018; DrugZ example of Colic 2019).

    91,320 guides x 7 samples: ``HELA_T0`` (reference), ``HELA_T15{A,B,C}_CTRL`` (control arm)
    and ``HELA_T15{A,B,C}_OLA`` (olaparib arm); replicates A/B/C pair control and treated
    samples; day 15 for the T15 samples, day 0 for T0.

    Parameters
    ----------
    control_genes
        Genes whose guides are marked ``control=True``: by default the library's 142 guides
        against EGFP, LacZ and luciferase; None or ``()`` marks none. (The 1,380 guides whose
        gene is ``chr10`` are left as targeting guides: the library annotation gives no gene.)

    Examples
    --------
    >>> screen = fetch_hela_olaparib()  # doctest: +SKIP
    >>> screen.pairs()[0]  # doctest: +SKIP
    ('HELA_T15A_CTRL', 'HELA_T15A_OLA')
    """
    files = [fetch_file(_HELA, f"raw_sample_counts/{s}.tsv.gz") for s in _HELA_SAMPLES]
    meta = fetch_file(_HELA, "HeLa_olaparib_sample_metadata.tsv")
    samples = crispr_samples_from_table(meta, replicate_pattern=r"T15([A-C])_")
    samples["day"] = [0.0 if r == "reference" else 15.0 for r in samples["role"]]
    screen = read_crispr_counts(
        files,
        fmt="per_sample",
        samples=samples,
        control_genes=list(control_genes) if control_genes else None,
    )
    return screen._with_source(f"{_HELA} ({screen.source})")


def _read_tsv(path: Path, sep: str = "\t") -> pd.DataFrame:
    with data_file_errors(path):
        return pd.read_csv(path, sep=sep)


def fetch_mageck_demo(
    which: Literal["rra", "mle"] = "rra",
) -> tuple[CrisprScreen, dict[str, pd.DataFrame]]:
    """The MAGeCK demo (Wang 2014 KBM7 / HL60 subsets) and MAGeCK's own outputs beside it.

    ``"rra"``: ``demo1_rra/sample.txt`` (999 guides, 100 genes), ``*.initial`` as the
    control arm and ``*.final`` as the treatment arm (as ``mageck test -t HL60.final,KBM7.final
    -c HL60.initial,KBM7.initial``), replicate = cell line, the AHNAK guides marked
    ``control=True`` (the run used ``--norm-method control --control-gene control_gene.txt``).
    Outputs: ``gene_summary``, ``sgrna_summary`` (MAGeCK's tables as written) and
    ``control_genes``.

    ``"mle"``: ``demo3_mle/leukemia.new.csv.gz`` (9,999 guides, 1,000 genes), ``*.initial``
    as reference and ``*.final`` as treatment. Outputs: ``gene_summary``, ``sgrna_summary``,
    ``design_matrix`` and ``cnv`` (the run used ``--cnv-norm``).

    Examples
    --------
    >>> screen, mageck = fetch_mageck_demo("rra")  # doctest: +SKIP
    >>> mageck["gene_summary"].columns[:3].tolist()  # doctest: +SKIP
    ['id', 'num', 'neg|score']
    """
    if which == "rra":
        d = "demo1_rra"
        ctrl_file = fetch_file(_MAGECK, f"{d}/control_gene.txt")
        with data_file_errors(ctrl_file):
            control = [g.strip() for g in ctrl_file.read_text().splitlines() if g.strip()]
        counts_file = fetch_file(_MAGECK, f"{d}/sample.txt")
        roles = {"HL60.initial": "control", "KBM7.initial": "control",
                 "HL60.final": "treatment", "KBM7.final": "treatment"}  # fmt: skip
        outputs = {
            "gene_summary": _read_tsv(fetch_file(_MAGECK, f"{d}/demo.gene_summary.txt")),
            "sgrna_summary": _read_tsv(fetch_file(_MAGECK, f"{d}/demo.sgrna_summary.txt")),
            "control_genes": pd.DataFrame({"gene": control}),
        }
        control_genes: list[str] | None = control
    elif which == "mle":
        d = "demo3_mle"
        counts_file = fetch_file(_MAGECK, f"{d}/leukemia.new.csv.gz")
        roles = {"HL60.initial": "reference", "KBM7.initial": "reference",
                 "HL60.final": "treatment", "KBM7.final": "treatment"}  # fmt: skip
        outputs = {
            "gene_summary": _read_tsv(fetch_file(_MAGECK, f"{d}/beta_leukemia.gene_summary.txt")),
            "sgrna_summary": _read_tsv(
                fetch_file(_MAGECK, f"{d}/beta_leukemia.sgrna_summary.txt.gz")
            ),
            "design_matrix": _read_tsv(fetch_file(_MAGECK, f"{d}/designmat.txt"), sep=r"\s+"),
            "cnv": _read_tsv(fetch_file(_MAGECK, f"{d}/cnv_data.txt.gz")),
        }
        control_genes = None
    else:
        raise InputError(f"unknown MAGeCK demo {which!r}; choose 'rra' or 'mle'")
    samples = pd.DataFrame(
        {"role": roles, "replicate": [k.split(".")[0] for k in roles]}, index=list(roles)
    )
    try:
        screen = read_crispr_counts(
            counts_file, fmt="mageck", samples=samples, control_genes=control_genes
        )
    except InputError as exc:  # a registered file that does not read is a broken data set
        raise DataUnavailableError(f"{_MAGECK}: {exc}") from exc
    return screen._with_source(f"{_MAGECK} ({screen.source})"), outputs
