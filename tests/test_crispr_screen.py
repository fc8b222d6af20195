"""CrisprScreen: validation, readers of the three layouts, normalisation (issue 14).

Sources: the fixtures in ``tests/data/crispr`` are made by hand for these tests (six guides,
five samples, one table written in the three layouts); the outside references are MAGeCK's own
outputs in the public mirror (``mageck_demo_wang2014_leukemia``: size factors in the run logs,
normalised counts in ``demo.sgrna_summary.txt``) and the published size of the HeLa TKOv1
screen (91,320 guides, 7 samples; Colic et al. 2019).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _fuzz import FUZZ_SETTINGS, mutated, reads_or_raises_own_error
from conftest import requires_mirror
from oncoresist.crispr._normalise import normalise_counts
from oncoresist.data._crispr import (
    CRISPR_READERS,
    CrisprScreen,
    crispr_samples_from_table,
    read_crispr_counts,
)
from oncoresist.errors import InputError, SchemaError

DATA = Path(__file__).parent / "data" / "crispr"
ORDER = ["T0", "ctrl_A", "drug_A", "ctrl_B", "drug_B"]


def _parts(n: int = 4) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ids = [f"g{i}" for i in range(n)]
    counts = pd.DataFrame(
        {"T0": np.arange(n) + 10, "c1": np.arange(n) + 5, "t1": np.arange(n) + 1},
        index=ids,
    )
    guides = pd.DataFrame({"gene": [f"G{i // 2}" for i in range(n)]}, index=ids)
    samples = pd.DataFrame(
        {"role": ["reference", "control", "treatment"], "replicate": [None, "A", "A"]},
        index=["T0", "c1", "t1"],
    )
    return counts, guides, samples


# ---------------------------------------------------------------------- construction
def test_valid_screen_accessors():
    counts, guides, samples = _parts()
    s = CrisprScreen(counts, guides, samples, source="x.txt")
    assert s.sample_names == ["T0", "c1", "t1"]
    assert s.arm("control") == ["c1"] and s.arm("TREATMENT") == ["t1"]
    assert s.pairs() == [("c1", "t1")]
    assert s.counts.dtypes.eq(np.int64).all()
    assert s.guides["control"].dtype == bool and not s.guides["control"].any()
    assert s.genes["g3"] == "G1"
    # one replicate per arm is allowed but flagged, for the statistics to pass on
    assert any("one replicate in the control arm" in n for n in s.notes)
    assert any("one replicate in the treatment arm" in n for n in s.notes)
    sub = s.subset(samples=["T0", "t1"], guides=["g1", "g0"])
    assert sub.sample_names == ["T0", "t1"] and list(sub.counts.index) == ["g1", "g0"]
    mask = s.subset(guides=np.array([True, False, True, False]))
    assert list(mask.counts.index) == ["g0", "g2"]
    summ = s.sizes()
    assert summ["n_guides"] == 4 and summ["n_genes"] == 2 and summ["n_pairs"] == 1
    assert "CrisprScreen" in s._repr_html_()


def test_integral_floats_are_counts_and_guides_reorder():
    counts, guides, samples = _parts()
    s = CrisprScreen(counts.astype(float), guides.iloc[::-1], samples.iloc[::-1])
    assert s.counts.dtypes.eq(np.int64).all()
    assert list(s.guides.index) == list(counts.index)
    assert list(s.samples.index) == ["T0", "c1", "t1"]


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        # a guide without a gene: row and column named
        (
            lambda c, g, s: g.assign(gene=["G0", "", "G1", "G1"]),
            r"row 2 \(guide 'g1'\), column 'gene': the gene is empty or NA",
        ),
        (lambda c, g, s: g.assign(gene=["G0", None, "G1", "G1"]), r"row 2 \(guide 'g1'\)"),
        (lambda c, g, s: g.assign(gene=["G0", "G0", np.nan, "G1"]), r"row 3 \(guide 'g2'\)"),
        # negative / fractional / non-finite / non-numeric counts
        (
            lambda c, g, s: c.assign(c1=[5, -1, 7, 8]),
            r"row 2 \(guide 'g1'\), column 'c1': negative count -1",
        ),
        (
            lambda c, g, s: c.assign(t1=[1.0, 2.5, 3.0, 4.0]),
            r"row 2 \(guide 'g1'\), column 't1': fractional count 2.5",
        ),
        (
            lambda c, g, s: c.assign(T0=[1.0, 2.0, np.inf, 4.0]),
            r"row 3 \(guide 'g2'\), column 'T0': the count is inf",
        ),
        (
            lambda c, g, s: c.assign(T0=[1.0, np.nan, 3.0, 4.0]),
            r"row 2 \(guide 'g1'\), column 'T0': the count is missing",
        ),
        (
            lambda c, g, s: c.assign(T0=["1", "x", "3", "4"]),
            r"row 2 \(guide 'g1'\), column 'T0': 'x' is not a number",
        ),
        # a sample missing from the annotation, and one without counts
        (lambda c, g, s: s.drop("c1"), r"sample\(s\) 'c1' of the count table are missing"),
        (
            lambda c, g, s: pd.concat([s, pd.DataFrame({"role": ["control"]}, index=["c9"])]),
            r"sample\(s\) 'c9' of the sample annotation have no column",
        ),
        # an unknown role
        (
            lambda c, g, s: s.assign(role=["reference", "ctrl", "treatment"]),
            r"sample 'c1', column 'role': unknown role 'ctrl'",
        ),
    ],
)
def test_bad_input_names_row_and_column(mutate, match):
    parts = dict(zip("cgs", _parts(), strict=True))
    out = mutate(parts["c"], parts["g"], parts["s"])
    # each case changes one of the three tables; tell which by its columns
    key = "g" if "gene" in out.columns else "s" if "role" in out.columns else "c"
    parts[key] = out
    counts, guides, samples = parts["c"], parts["g"], parts["s"]
    with pytest.raises(InputError, match=match):
        CrisprScreen(counts, guides, samples, source="screen.txt")


def test_duplicated_guide_ids_are_named():
    counts, guides, samples = _parts()
    ids = ["g0", "g1", "g1", "g3"]
    with pytest.raises(InputError, match=r"guide id 'g1' appears more than once \(rows 2, 3"):
        CrisprScreen(counts.set_axis(ids), guides.set_axis(ids), samples)


def test_guides_of_counts_missing_from_guide_table():
    counts, guides, samples = _parts()
    with pytest.raises(InputError, match=r"1 guide\(s\) of the counts have no gene: 'g3'"):
        CrisprScreen(counts, guides.iloc[:3], samples)


def test_missing_role_column_is_a_schema_error():
    counts, guides, samples = _parts()
    with pytest.raises(SchemaError, match="no 'role' column"):
        CrisprScreen(counts, guides, samples.drop(columns="role"))


def test_pairs_that_do_not_pair_name_the_sample():
    counts, guides, samples = _parts()
    counts["t2"] = counts["t1"]
    samples2 = pd.concat(
        [samples, pd.DataFrame({"role": ["treatment"], "replicate": ["B"]}, index=["t2"])]
    )
    s = CrisprScreen(counts, guides, samples2)
    with pytest.raises(InputError, match=r"treatment sample 't2' \(replicate 'B'\) has no control"):
        s.pairs()
    s = CrisprScreen(counts, guides, samples2.assign(replicate=[None, "A", "A", "A"]))
    with pytest.raises(InputError, match=r"samples 't1' and 't2' \(treatment\) both have"):
        s.pairs()
    s = CrisprScreen(counts, guides, samples2.assign(replicate=[None, "A", None, "B"]))
    with pytest.raises(InputError, match=r"sample 't1' \(treatment\) has no replicate label"):
        s.pairs()
    assert s.sizes()["n_pairs"] is None  # sizes() does not raise


def test_subset_unknown_names():
    s = CrisprScreen(*_parts())
    with pytest.raises(InputError, match="unknown sample"):
        s.subset(samples=["nope"])
    with pytest.raises(InputError, match="unknown guide"):
        s.subset(guides=["gX"])


# ---------------------------------------------------------------------- readers
def _expected() -> pd.DataFrame:
    return pd.read_csv(DATA / "mageck_counts.txt", sep="\t", index_col=0)


@pytest.mark.parametrize(
    ("source", "fmt"),
    [
        ("mageck_counts.txt", None),
        ("mageck_counts_comma.csv.gz", None),
        ("per_sample", None),
        ("long_counts.csv", None),
        ("mageck_counts.txt", "mageck"),
        ("long_counts.csv", "tidy"),
    ],
)
def test_three_layouts_read_the_same_screen(source, fmt):
    """One hand-made table written as MAGeCK (tab, comma+gz), per-sample files, long."""
    s = read_crispr_counts(DATA / source, fmt=fmt, samples=DATA / "samples.tsv")
    exp = _expected()
    got = s.counts.loc[exp.index, ORDER]
    assert (got.to_numpy() == exp[ORDER].to_numpy()).all()
    assert (s.guides.loc[exp.index, "gene"] == exp["Gene"]).all()
    assert sorted(s.pairs()) == [("ctrl_A", "drug_A"), ("ctrl_B", "drug_B")]
    assert s.samples.loc["ctrl_A", "day"] == 14.0


def test_per_sample_list_of_files_and_flags_metadata():
    files = [DATA / "per_sample" / f"{n}.tsv" for n in ORDER]
    s = read_crispr_counts(
        files,
        samples=DATA / "samples_flags.tsv",
        replicate_pattern=r"_([AB])$",
        control_genes=["CTRL"],
    )
    assert s.sample_names == ORDER
    assert s.guides["control"].sum() == 2
    assert s.arm("reference") == ["T0"] and s.pairs()[1] == ("ctrl_B", "drug_B")


def test_round_trip_long_table(tmp_path):
    """to_frame() written as a long table reads back to the same screen."""
    s = read_crispr_counts(DATA / "mageck_counts.txt", samples=DATA / "samples.tsv")
    s.to_frame().to_csv(tmp_path / "long.tsv", sep="\t", index=False)
    back = read_crispr_counts(tmp_path / "long.tsv", samples=s.samples)
    pd.testing.assert_frame_equal(back.counts, s.counts)
    pd.testing.assert_frame_equal(back.guides, s.guides)
    pd.testing.assert_frame_equal(back.samples, s.samples)


def test_per_sample_guide_lists_must_agree(tmp_path):
    for n in ORDER[:2]:
        (tmp_path / f"{n}.tsv").write_text((DATA / "per_sample" / f"{n}.tsv").read_text())
    bad = (DATA / "per_sample" / "drug_A.tsv").read_text().replace("g3\t", "g3x\t")
    (tmp_path / "drug_A.tsv").write_text(bad)
    with pytest.raises(InputError, match=r"drug_A.tsv: the guide list differs .*guide 'g3x'"):
        read_crispr_counts(tmp_path, samples=DATA / "samples.tsv")
    bad = (DATA / "per_sample" / "drug_A.tsv").read_text().replace("GENE2", "OTHER", 1)
    (tmp_path / "drug_A.tsv").write_text(bad)
    with pytest.raises(InputError, match=r"drug_A.tsv: guide 'g3' targets gene 'OTHER' here"):
        read_crispr_counts(tmp_path, samples=DATA / "samples.tsv")


def test_reader_errors_name_file_line_and_fix(tmp_path):
    text = (DATA / "mageck_counts.txt").read_text()
    (tmp_path / "neg.txt").write_text(text.replace("g2\tGENE1\t200", "g2\tGENE1\t-3"))
    with pytest.raises(InputError, match=r"neg.txt: row 2 \(guide 'g2'\), column 'T0': negative"):
        read_crispr_counts(tmp_path / "neg.txt", samples=DATA / "samples.tsv")
    (tmp_path / "nogene.txt").write_text(text.replace("g3\tGENE2", "g3\t"))
    with pytest.raises(InputError, match=r"nogene.txt: row 3 \(guide 'g3'\), column 'gene'"):
        read_crispr_counts(tmp_path / "nogene.txt", samples=DATA / "samples.tsv")
    (tmp_path / "dup.txt").write_text(text.replace("g4\t", "g1\t"))
    with pytest.raises(InputError, match=r"guide id 'g1' appears more than once"):
        read_crispr_counts(tmp_path / "dup.txt", samples=DATA / "samples.tsv")
    (tmp_path / "short.txt").write_text(text.replace("g5\tCTRL\t120\t", "g5\tCTRL\t120"))
    with pytest.raises(InputError, match=r"short.txt: line 6: 6 field\(s\)"):
        read_crispr_counts(tmp_path / "short.txt", samples=DATA / "samples.tsv")
    with pytest.raises(InputError, match=r"give the sample annotation with samples="):
        read_crispr_counts(DATA / "mageck_counts.txt")
    with pytest.raises(SchemaError, match=r"guide_col='nope': no such column"):
        read_crispr_counts(DATA / "mageck_counts.txt", guide_col="nope", samples={})
    with pytest.raises(InputError, match=r"control gene\(s\) 'NTC' are not in the library"):
        read_crispr_counts(DATA / "mageck_counts.txt", samples={}, control_genes=["NTC"])
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(InputError, match=r"empty.txt: the file is empty"):
        read_crispr_counts(tmp_path / "empty.txt", samples={})
    (tmp_path / "x.txt").write_text("a\tb\n1\t2\n")
    with pytest.raises(InputError, match="cannot tell the count layout"):
        read_crispr_counts(tmp_path / "x.txt", samples={})


def test_long_table_missing_pair_and_duplicate(tmp_path):
    long = pd.read_csv(DATA / "long_counts.csv")
    long.iloc[1:].to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(InputError, match=r"guide 'g6' has no line for sample 'drug_A'"):
        read_crispr_counts(tmp_path / "a.csv", samples=DATA / "samples.tsv")
    pd.concat([long, long.iloc[:1]]).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(InputError, match=r"guide 'g6' and sample 'drug_A' appear twice"):
        read_crispr_counts(tmp_path / "b.csv", samples=DATA / "samples.tsv")


def test_sample_tables():
    t = crispr_samples_from_table(DATA / "samples_flags.tsv", replicate_pattern=r"_([AB])$")
    assert t["role"].tolist() == ["reference", "control", "treatment", "control", "treatment"]
    with pytest.raises(InputError, match=r"needs exactly one group"):
        crispr_samples_from_table(DATA / "samples_flags.tsv", replicate_pattern=r"_[AB]$")
    with pytest.raises(InputError, match=r"sample 'ctrl_A' \(control\): replicate_pattern"):
        crispr_samples_from_table(DATA / "samples_flags.tsv", replicate_pattern=r"_([C])$")
    bad = pd.DataFrame({"sample_name": ["a"], "plasmid": [1], "control": [1], "treatment": [0]})
    with pytest.raises(InputError, match=r"row 1 \(sample 'a'\).*exactly one of them must be 1"):
        crispr_samples_from_table(bad)
    # without a pattern, replicates are not guessed from the names
    t = crispr_samples_from_table(DATA / "samples_flags.tsv")
    assert "replicate" not in t.columns


def test_registry_of_crispr_formats():
    assert CRISPR_READERS.names() == ["mageck", "per_sample", "long"]
    assert CRISPR_READERS.get("tidy").name == "long"


# ---------------------------------------------------------------------- normalisation
def test_median_ratio_by_hand():
    """Hand computation on a 3 x 2 table: reference = geometric mean of (count + 1) per guide,
    size factor = median of count / reference, normalised = count / size factor."""
    x = np.array([[10, 40], [30, 30], [0, 5]])
    ref = np.sqrt(np.array([11 * 41, 31 * 31, 1 * 6]))
    r0 = sorted(np.array([10, 30, 0]) / ref)[1]
    r1 = sorted(np.array([40, 30, 5]) / ref)[1]
    norm, sf = normalise_counts(x, method="median")
    np.testing.assert_allclose(sf, [r0, r1], rtol=1e-12)
    np.testing.assert_allclose(norm, x / np.array([r0, r1]), rtol=1e-12)
    # upper median for an even number of guides (as MAGeCK), all-zero guides left out
    x4 = np.array([[1, 2], [3, 3], [5, 1], [8, 8], [0, 0]])
    ref4 = np.sqrt((x4[:4] + 1).prod(axis=1))
    _, sf4 = normalise_counts(x4)
    np.testing.assert_allclose(sf4, np.sort(x4[:4] / ref4[:, None], axis=0)[2], rtol=1e-12)
    # total: scale to the mean total; none: factors 1; the pseudocount is added after scaling
    _, sft = normalise_counts(x, method="total")
    np.testing.assert_allclose(sft, x.sum(0) / x.sum(0).mean())
    n0, sf0 = normalise_counts(x, method="none", pseudocount=0.5)
    assert (sf0 == 1).all() and (n0 == x + 0.5).all()


def test_normalise_errors():
    with pytest.raises(InputError, match="needs control_rows"):
        normalise_counts(np.ones((3, 2)), method="control")
    with pytest.raises(InputError, match="unknown normalisation"):
        normalise_counts(np.ones((3, 2)), method="quantile")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="has zero reads in at least half"):
        normalise_counts(np.array([[0, 1], [0, 2], [1, 3]]))


def _mageck_size_factors(log: Path) -> np.ndarray:
    line = next(ln for ln in log.read_text().splitlines() if "Final size factor:" in ln)
    return 1.0 / np.array([float(v) for v in line.split("Final size factor:")[1].split()])


@requires_mirror("mageck_demo_wang2014_leukemia")
def test_size_factors_agree_with_mageck_logs():
    """Outside reference: MAGeCK 0.5.9 prints its size factors ("Final size factor", the
    reciprocal of ours) in the run logs: demo4 ran the default median normalisation, demo1
    ``--norm-method control --control-gene control_gene.txt`` (AHNAK, 10 guides)."""
    from oncoresist.data._crispr_datasets import fetch_mageck_demo
    from oncoresist.data._datasets import fetch_file

    screen, _ = fetch_mageck_demo("rra")
    x = screen.counts.to_numpy()
    demo = "mageck_demo_wang2014_leukemia"
    _, sf = normalise_counts(x, method="median")
    ref = _mageck_size_factors(fetch_file(demo, "demo1_rra/demo.log").parent.parent
                               / "demo4_rra_cnv" / "demo4.log")  # fmt: skip
    np.testing.assert_allclose(sf, ref, rtol=1e-12)
    _, sfc = normalise_counts(x, method="control", control_rows=screen.guides["control"])
    np.testing.assert_allclose(
        sfc, _mageck_size_factors(fetch_file(demo, "demo1_rra/demo.log")), rtol=1e-12
    )


@requires_mirror("mageck_demo_wang2014_leukemia")
def test_control_normalised_counts_agree_with_mageck_sgrna_summary():
    """Outside reference: demo1 ``demo.sgrna_summary.txt``, columns control_count /
    treatment_count = MAGeCK's normalised counts per sample ("a/b", 5 significant digits)."""
    from oncoresist.data._crispr_datasets import fetch_mageck_demo

    screen, out = fetch_mageck_demo("rra")
    norm, _ = normalise_counts(
        screen.counts.to_numpy(), method="control", control_rows=screen.guides["control"]
    )
    ours = pd.DataFrame(norm, index=screen.counts.index, columns=screen.sample_names)
    ss = out["sgrna_summary"].set_index("sgrna")
    ctrl = ss["control_count"].str.split("/", expand=True).astype(float)
    trt = ss["treatment_count"].str.split("/", expand=True).astype(float)
    ref = pd.concat([ctrl, trt], axis=1).set_axis(
        ["HL60.initial", "KBM7.initial", "HL60.final", "KBM7.final"], axis=1
    )
    ours = ours.loc[ref.index, ref.columns]
    assert len(ref) == 999
    # MAGeCK prints 5 significant digits: a relative error below 5e-5 (or 5e-3 absolute)
    err = np.abs(ours.to_numpy() - ref.to_numpy())
    assert (err <= np.maximum(5e-5 * np.abs(ref.to_numpy()), 5e-3)).all(), err.max()


@requires_mirror("hela_olaparib_tkov1_colic2019")
def test_hela_screen_loads():
    """Colic 2019 / Zimmermann 2018: TKOv1, 91,320 guides, T0 + 3 paired control/olaparib."""
    from oncoresist.data._crispr_datasets import fetch_hela_olaparib

    s = fetch_hela_olaparib()
    assert s.counts.shape == (91_320, 7)
    assert s.arm("reference") == ["HELA_T0"]
    assert s.pairs() == [
        ("HELA_T15A_CTRL", "HELA_T15A_OLA"),
        ("HELA_T15B_CTRL", "HELA_T15B_OLA"),
        ("HELA_T15C_CTRL", "HELA_T15C_OLA"),
    ]
    assert s.notes == ()
    assert re.search("hela_olaparib", s.source)
    # the TKOv1 control guides (Hart 2015): 22 EGFP + 96 LacZ + 24 luciferase
    assert s.guides["control"].sum() == 142
    assert fetch_hela_olaparib(control_genes=None).guides["control"].sum() == 0


@requires_mirror("mageck_demo_wang2014_leukemia")
def test_mageck_demo_mle_loads():
    """MAGeCK demo3: 9,999 guides, 1,000 genes, MAGeCK's gene summary of 1,000 genes beside."""
    from oncoresist.data._crispr_datasets import fetch_mageck_demo

    s, out = fetch_mageck_demo("mle")
    assert s.counts.shape == (9_999, 4) and s.guides["gene"].nunique() == 1_000
    assert len(out["gene_summary"]) == 1_000
    assert list(out["design_matrix"].columns[:2]) == ["Samples", "baseline"]


# ---------------------------------------------------------------------- fuzz
_FUZZ_FILES = {
    "mageck": ("m.txt", (DATA / "mageck_counts.txt").read_bytes()),
    "long": ("l.csv", (DATA / "long_counts.csv").read_bytes()),
    "samples": ("s.tsv", (DATA / "samples.tsv").read_bytes()),
}


@pytest.mark.parametrize("layout", list(_FUZZ_FILES))
@FUZZ_SETTINGS
@given(data=st.data())
def test_crispr_readers_read_or_raise_own_error(tmp_path_factory, layout, data):
    """Fuzz (tests/_fuzz.py mutations): a mutated count or sample file reads or raises an
    OncoresistError, never a bare pandas / numpy exception."""
    folder = tmp_path_factory.mktemp("fuzz")
    name, valid = _FUZZ_FILES[layout]
    blob = data.draw(mutated(valid), label="file")
    if layout == "samples":

        def read(p: Path) -> object:
            return read_crispr_counts(DATA / "mageck_counts.txt", samples=p)

    else:

        def read(p: Path) -> object:
            return read_crispr_counts(p, samples=DATA / "samples.tsv")

    reads_or_raises_own_error(read, folder / name, blob)
