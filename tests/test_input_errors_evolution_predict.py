"""Bad input to profiles, CIViC files, evolution models/schedules/data and prediction settings.

Each test is a regression guard for one defect found by fuzzing (issue 19): the input used to
crash with a traceback, hang, or be read as valid garbage; now it is an ``InputError`` (or
``SchemaError``) that names the file, the line / key / row / column, and the fix.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest

from oncoresist.cli import main
from oncoresist.errors import InputError, SchemaError
from oncoresist.evolution import (
    Clone,
    DrugEffect,
    Model,
    Regimen,
    Schedule,
    clone_from_fit,
    example_path,
    fit_burden,
    fit_psa_cohort,
    forecast_next_cycle,
    load_model,
    load_schedule,
    model_from_dict,
    schedule_from_dict,
    simulate,
)
from oncoresist.evolution._data import _read_bruchovsky_file, _read_pdxe_volumes
from oncoresist.evolution._simulate import MAX_RATE, MAX_STEPS
from oncoresist.mechanisms import read_civic_evidence, read_profile
from oncoresist.predict import evaluate, load_tgsa_panel, make_folds, make_response_panel
from oncoresist.predict import pair_frame as _pair_frame
from oncoresist.predict._models import DrugMean, MeanEffects

PROFILE_YAML = b"sample: S1\nmutations:\n  - {gene: EGFR, alteration: p.L858R}\ncnv:\n  MET: gain\n"
PROFILE_TSV = b"gene\talteration\nEGFR\tp.L858R\nKRAS\tp.G12C\n"
PROFILE_VCF = (
    b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    b"7\t55249071\t.\tC\tT\t.\tPASS\tGENE=EGFR;HGVSP=p.T790M\n"
)
CIVIC_COLS = [
    "gene",
    "variant",
    "disease",
    "drugs",
    "drug_interaction_type",
    "evidence_type",
    "evidence_level",
    "clinical_significance",
    "citation_id",
    "source_type",
    "rating",
    "evidence_status",
    "evidence_id",
]


def civic_bytes(rows: int = 3) -> bytes:
    """A small valid CIViC ClinicalEvidenceSummaries TSV (predictive items)."""
    items = [
        ["EGFR", "T790M", "Lung Cancer", "Erlotinib", "", "Predictive", "A", "Resistance"],
        ["EGFR", "L858R", "Lung Cancer", "Gefitinib", "", "Predictive", "B", "Sensitivity"],
        ["KRAS", "G12C", "Colorectal", "Cetuximab", "", "Predictive", "B", "Resistance"],
        ["ABL1", "T315I", "CML", "Imatinib", "", "Predictive", "A", "Resistance"],
    ]
    lines = ["\t".join(CIVIC_COLS)]
    for i, it in enumerate(items[:rows]):
        lines.append("\t".join([*it, str(1000 + i), "PubMed", "4", "accepted", str(i + 1)]))
    return ("\n".join(lines) + "\n").encode()


def _err(fn, *args, match: str | None = None, **kw) -> str:
    with pytest.raises(InputError, match=match) as info:
        fn(*args, **kw)
    return str(info.value)


# --------------------------------------------------------------------------- 1. reading bytes


@pytest.mark.parametrize(
    ("name", "data", "where"),
    [
        ("p.yaml", PROFILE_YAML.replace(b"S1", b"S\xe91"), "line 1, column 10"),
        ("p.json", b'{"sample": "S\xff1"}', "line 1, column 14"),
        ("p.tsv", PROFILE_TSV.replace(b"KRAS", b"KR\xe9AS"), "line 3, column 3"),
        ("p.vcf", PROFILE_VCF.replace(b"EGFR", b"EG\xe9FR"), "line 3"),
    ],
)
def test_profile_non_utf8_names_file_line_and_column(tmp_path, name, data, where):
    """Regression guard: a Latin-1 byte in any profile layout was a UnicodeDecodeError."""
    p = tmp_path / name
    p.write_bytes(data)
    msg = _err(read_profile, p, match="not UTF-8")
    assert str(p) in msg and where in msg and "save the file as UTF-8" in msg


@pytest.mark.parametrize("name", ["p.yaml", "p.json", "p.tsv", "p.maf", "p.vcf"])
@pytest.mark.parametrize("data", [b"", b"  \n\n", b"\xef\xbb\xbf"])
def test_profile_empty_file_is_an_error(tmp_path, name, data):
    """Regression guard: an empty TSV was pandas' EmptyDataError, an empty VCF a valid profile."""
    p = tmp_path / name
    p.write_bytes(data)
    assert str(p) in _err(read_profile, p, match="empty")


def test_profile_comment_only_table_and_utf16(tmp_path):
    """Regression guard: a table of only comments was EmptyDataError; UTF-16 a decode crash."""
    p = tmp_path / "p.tsv"
    p.write_bytes(b"# just a comment\n")
    assert "no header line" in _err(read_profile, p)
    p.write_bytes(PROFILE_TSV.decode().encode("utf-16"))
    assert "UTF-16" in _err(read_profile, p)


def test_profile_unbalanced_quote_names_line(tmp_path):
    """Regression guard: an unbalanced quote in a TSV was a pandas ParserError; in YAML the
    message did not say where the quote started."""
    p = tmp_path / "p.tsv"
    p.write_bytes(b'# comment\ngene\talteration\nEGFR\t"p.L858R\nKRAS\tp.G12C\n')
    msg = _err(read_profile, p, match="line 3")
    assert str(p) in msg and "double quote" in msg
    # a quote that closes later swallows the lines between: refused, not one long alteration
    p.write_bytes(b'gene\talteration\nEGFR\t"p.L858R\nKRAS\tp.G12C"\nTP53\tp.R273H\n')
    assert "spans several lines" in _err(read_profile, p)
    y = tmp_path / "p.yaml"
    y.write_bytes(b'sample: "S1\nmutations: [EGFR L858R]\n')
    msg = _err(read_profile, y, match="not valid YAML")
    assert "line 1, column 9" in msg and str(y) in msg


def test_profile_table_extra_field_names_line(tmp_path):
    """Regression guard: a row with more fields than the header was a ParserError."""
    p = tmp_path / "p.tsv"
    p.write_bytes(b"gene\talteration\nEGFR\tp.L858R\nKRAS\tp.G12C\tx\n")
    msg = _err(read_profile, p, match="line 3")
    assert "more fields than the header" in msg


def test_profile_json_syntax_error_names_line(tmp_path):
    """Regression guard: JSON errors named no line in the same form as the other readers."""
    p = tmp_path / "p.json"
    p.write_text('{"sample": "S1",\n "mutations": [}\n')
    assert "line 2, column" in _err(read_profile, p, match="not valid JSON")


@pytest.mark.parametrize("fn", [load_model, load_schedule])
@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"name: \xe9t\xe9\n", "line 1, column 7: byte 0xe9 is not UTF-8"),
        (b"", "empty"),
        (b"\n   \n", "empty"),
        (b"name: 'abc\nclones: []\n", r"not valid YAML .*line 1, column 7"),
        (b"- a\n- b\n", "expected a mapping"),
        (b"\xff\xfename: x", "UTF-16"),
    ],
)
def test_model_and_schedule_files_bad_bytes(tmp_path, fn, data, match):
    """Regression guard: non-UTF-8 bytes were a UnicodeDecodeError; YAML errors had no line."""
    p = tmp_path / "m.yaml"
    p.write_bytes(data)
    assert str(p) in _err(fn, p, match=match)


def test_model_json_syntax_error(tmp_path):
    """Regression guard: JSON model errors are InputErrors with line and column."""
    p = tmp_path / "m.json"
    p.write_text('{"clones": [\n')
    assert "line 2, column 1" in _err(load_model, p, match="not valid JSON")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (civic_bytes().replace(b"Lung Cancer", b"Lung Canc\xe9r", 1), "line 2, column .*UTF-8"),
        (civic_bytes().replace(b"T790M\t", b"T790M\tx\t", 1), "line 2.*more fields"),
        (b"\xff\xfe\x00g", "UTF-16"),
    ],
)
def test_civic_bad_bytes(tmp_path, data, match):
    """Regression guard: read_civic_evidence raised EmptyDataError / ParserError /
    UnicodeDecodeError."""
    p = tmp_path / "civic.tsv"
    p.write_bytes(data)
    assert str(p) in _err(read_civic_evidence, p, match=match)


def test_civic_stray_quote_is_text_and_short_rows_are_cells(tmp_path):
    """Regression guard: a stray double quote swallowed the following rows (CIViC's TSV has no
    quoting), and a row with missing trailing fields crashed on NaN citation ids."""
    p = tmp_path / "civic.tsv"
    p.write_bytes(civic_bytes(4).replace(b"Lung Cancer", b'"Lung Cancer', 1))
    civ = read_civic_evidence(p)
    assert len(civ.evidence) + len(civ.excluded) == 4
    short = b"\n".join(line.split(b"\t1000")[0] for line in civic_bytes(2).split(b"\n"))
    p.write_bytes(civic_bytes(1) + short.split(b"\n")[2] + b"\n")
    civ = read_civic_evidence(p)
    assert len(civ.evidence) + len(civ.excluded) == 2


def test_civic_missing_columns_is_schema_error(tmp_path):
    """Regression guard: the schema error also lists what was found."""
    p = tmp_path / "civic.tsv"
    p.write_text("gene\tvariant\nEGFR\tT790M\n")
    with pytest.raises(SchemaError, match="missing columns"):
        read_civic_evidence(p)


# --------------------------------------------------------------------------- 2. profile shapes


@pytest.mark.parametrize(
    ("yaml_text", "match"),
    [
        ("cnv: 5\n", r"cnv is int 5; give a mapping gene -> call"),
        ("cnv: [1, 2]\n", "cnv is list"),
        ("cnv: {MET: [1]}\n", r"copy-number call \[1\] for MET"),
        ("mutations: 0\n", r"mutations is int 0; give a list of 'GENE CHANGE'"),
        ("mutations: 'EGFR L858R'\n", "mutations is str"),
        ("mutations: {x: 1}\n", r"mutations.x is int 1; give the protein change as text"),
        ("mutations: {EGFR: [1]}\n", r"mutations.EGFR\[0\] is int 1"),
        ("mutations: {EGFR: {a: 1}}\n", "mutations.EGFR is dict"),
        ("mutations: [{gene: EGFR}, {gene: KRAS, alteration: G12C}]\n", "row 1.*empty"),
        ("mutations: [{gene: [1], alteration: G12C}]\n", "gene is list"),
        ("expression: 5\n", "expression is int 5"),
        ("expression: {EGFR: high}\n", "gene EGFR: expression 'high' is not a number"),
        ("expression: {EGFR: .inf}\n", "infinite"),
        ("expression: missing.tsv\n", "does not exist"),
        ("sample: [a, b]\n", "sample is list"),
        ("1: x\nfoo: y\n", "unknown keys"),
    ],
)
def test_profile_wrong_types_name_key_and_shape(tmp_path, yaml_text, match):
    """Regression guard: wrong shapes were TypeError / ValueError tracebacks (cnv: 5,
    mutations: 0, mutations: {x: 1}) or silently read garbage (mutations: 'EGFR L858R')."""
    p = tmp_path / "p.yaml"
    p.write_text(yaml_text)
    assert str(p) in _err(read_profile, p, match=match)


def test_profile_expression_table_errors(tmp_path):
    """Regression guard: a non-numeric expression cell named no gene or column."""
    (tmp_path / "e.tsv").write_text("gene\tS1\nEGFR\t1.5\nMET\tabc\n")
    p = tmp_path / "p.yaml"
    p.write_text("sample: S1\nexpression: e.tsv\n")
    assert "gene 'MET', column 'S1'" in _err(read_profile, p)
    (tmp_path / "e.tsv").write_text("gene\nEGFR\n")
    assert "one column per sample" in _err(read_profile, p)


def test_fuzz_findings_profile(tmp_path):
    """Regression guard (long fuzz campaign): a 400-digit copy-number value was an
    OverflowError; an expression row of only a separator gave a NaN gene and a TypeError."""
    p = tmp_path / "p.yaml"
    p.write_text("cnv:\n  CDKN2A: " + "1" + "0" * 400 + "\n")
    assert "not a GISTIC call" in _err(read_profile, p)
    (tmp_path / "e.tsv").write_text("gene\tS1\tS2\nEGFR\t8.5\t7.0\nMET\t1\t2\n\t\n")
    p.write_text("sample: S1\nexpression: e.tsv\n")
    assert "row 3 has no gene name" in _err(read_profile, p)


def test_fuzz_finding_expression_path_too_long(tmp_path):
    """Regression guard (long fuzz campaign): an expression path of 5000 characters was an
    OSError (file name too long)."""
    p = tmp_path / "p.yaml"
    p.write_text("sample: S1\nexpression: " + "x" * 5000 + "\n")
    assert "does not exist" in _err(read_profile, p)


def test_profile_vcf_without_header(tmp_path):
    """Regression guard: a file of data lines without '#CHROM' was read as a VCF."""
    p = tmp_path / "p.vcf"
    p.write_bytes(PROFILE_VCF.split(b"\n", 2)[2])
    assert "#CHROM" in _err(read_profile, p)


# --------------------------------------------------------------------------- 3. model shapes


def _two_drug() -> dict:
    import yaml

    return yaml.safe_load(example_path("two_drug_model.yaml").read_text())


def _set(d: dict, path: tuple, value) -> dict:
    node = d
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return d


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        (("clones",), 5, r"m\.clones: expected a list of clones"),
        (("drugs",), 5, r"m\.drugs: expected a list of drugs"),
        (("competition",), [[1, 0.5, 0.5, 0.5], [1, 1]], r"m\.competition: must be a 4x4"),
        (("competition",), [[1, 0.5, 0.5, "x"]] * 4, r"m\.competition\[0\]\[3\]"),
        (("competition",), 5, r"m\.competition: expected a list"),
        (("clones", 0, "effects"), 5, r"clones\[0\]\.effects: expected a mapping drug"),
        (("clones", 0, "effects"), [1], r"clones\[0\]\.effects: expected a mapping"),
        (("clones", 0, "birth_rate"), 10**400, r"clones\[0\]\.birth_rate: .* too large"),
        (("clones", 0, "birth_rate"), float("nan"), r"clones\[0\]\.birth_rate: NaN"),
        (("clones", 0, "birth_rate"), -1, r"clones\[0\].*non-negative"),
        (("clones", 0, "birth_rate"), float("inf"), r"clones\[0\].*non-negative"),
        (("clones", 0, "name"), [], r"clones\[0\]\.name must be a name"),
        (("clones", 0, "role"), [], r"clones\[0\]\.role: expected text"),
        (("growth",), [], r"m\.growth: expected text"),
        (("microenvironment", "clones"), "S", r"microenvironment\.clones: expected a list"),
        (("drugs", 0, "half_life"), float("inf"), r"half_life must be a finite number > 0"),
        (("transitions", 0), 5, r"transitions\[0\]: expected a mapping"),
    ],
)
def test_model_wrong_types_name_the_key(path, value, match):
    """Regression guard: clones: 5, drugs: 5, a ragged competition matrix and scalar effects
    were TypeError / ValueError / AttributeError tracebacks."""
    with pytest.raises(InputError, match=match):
        model_from_dict(_set(_two_drug(), path, value), source="m")


def test_model_hierarchy_shapes():
    """Regression guard: hierarchy levels / plasticity of the wrong shape were tracebacks."""
    base = {
        "clones": [
            {"name": "S", "birth_rate": 0.1, "initial": 10},
            {"name": "P", "birth_rate": 0.1},
        ]
    }
    for hier, match in (
        ({"levels": 5}, r"hierarchy\.levels: expected a list"),
        ({"levels": ["S", "P"], "differentiation": 5}, r"differentiation: expected a list"),
        ({"levels": ["S", "P"], "differentiation": [0.1], "plasticity": ["x"]}, "plasticity"),
    ):
        with pytest.raises(InputError, match=match):
            model_from_dict({**base, "hierarchy": hier}, source="m")


@pytest.mark.parametrize(
    ("regimens", "match"),
    [
        (1e308, r"s\.regimens: expected a list of regimens"),
        ("1e308", r"s\.regimens: expected a list"),
        ([{"drug": "A", "type": []}], r"regimens\[0\]\.type: expected text"),
        ([{"drug": "A", "type": "weekly"}], r"regimens\[0\]\.type must be one of"),
        ([{"drug": "A", "type": "boluses", "times": 5}], r"times: expected a list"),
        ([{"drug": "A", "type": "blocks", "blocks": 5}], r"blocks: expected a list"),
        ([{"drug": "A", "type": "blocks", "blocks": [5]}], r"blocks\[0\]: expected a list"),
        ([{"type": "simultaneous", "drugs": []}], "needs at least one drug"),
        ([{"type": "sequential", "drugs": "AB", "switch_at": 1}], r"drugs: expected a list"),
        ([{"drug": []}], r"regimens\[0\]\.drug must be a name"),
        ([{"drug": "A", "type": "intermittent", "on": 1, "off": float("inf")}], "off"),
        ([{"drug": "A", "level": float("nan")}], "NaN"),
    ],
)
def test_schedule_wrong_types_name_the_key(regimens, match):
    """Regression guard: regimens: 1e308 and type: [] were TypeErrors; simultaneous with no
    drugs silently gave an untreated schedule."""
    with pytest.raises(InputError, match=match):
        schedule_from_dict({"name": "s", "regimens": regimens}, source="s")


def test_dataclasses_validate_numbers_from_the_api():
    """Regression guard: DrugEffect(ic50='x') was a ValueError, ic50=inf was accepted."""
    with pytest.raises(InputError, match="ic50"):
        DrugEffect(emax=0.1, ic50="x")
    with pytest.raises(InputError, match="ic50"):
        DrugEffect(emax=0.1, ic50=math.inf)
    with pytest.raises(InputError, match="hill_slope"):
        DrugEffect(emax=0.1, hill_slope=math.nan)
    with pytest.raises(InputError, match="competition"):
        Model(clones=(Clone("S", 0.1, initial=1),), competition=((1.0, 2.0), (1.0,)))


def test_drug_effect_is_finite_at_huge_concentrations():
    """Regression guard: c^h overflowed to inf/inf = NaN at huge concentrations or slopes."""
    eff = DrugEffect(emax=0.5, ic50=1.0, hill_slope=50.0)
    assert eff.effect(1e300) == pytest.approx(0.5)
    assert eff.effect(0.0) == 0.0


# --------------------------------------------------------------------------- 4. booleans


def _burden_data():
    t = np.arange(0, 400, 20.0)
    on = t < 200
    y = np.exp(np.logaddexp(2.0 - 0.05 * np.minimum(t, 200) + 0.01 * t, -2.0 + 0.008 * t))
    return t, y, on


@pytest.mark.parametrize(
    "flags",
    [
        lambda on: np.where(on, "yes", "no"),
        lambda on: np.where(on, 3, 0),
        lambda on: np.where(on, 1.0, 0.5),
        lambda on: np.where(on, "on", "off"),
        lambda on: [None, *on[1:]],
    ],
)
def test_fit_burden_refuses_non_boolean_flags(flags):
    """Regression guard: "yes"/"no" flags were all read as on (a fit with infinite standard
    errors) and on_treatment = 3 as on."""
    t, y, on = _burden_data()
    assert "row" in _err(fit_burden, t, y, flags(on), match="not a treatment flag")


@pytest.mark.parametrize(
    "flags",
    [
        lambda on: on,
        lambda on: on.astype(int),
        lambda on: on.astype(float),
        lambda on: np.where(on, "TRUE", "false"),
        lambda on: np.where(on, "1", "0"),
        lambda on: pd.Series(np.where(on, "True", "FALSE"), dtype=object),
    ],
)
def test_fit_burden_accepts_the_boolean_spellings(flags):
    """Regression guard: the accepted spellings give the same fit as real booleans."""
    t, y, on = _burden_data()
    ref = fit_burden(t, y, on)
    fit = fit_burden(t, y, flags(on))
    assert fit.status == "ok"
    assert fit.params == pytest.approx(ref.params)


def test_psa_cohort_and_forecast_name_row_and_column():
    """Regression guard: fit_psa_cohort / forecast_next_cycle read 'yes' as on and crashed on
    missing columns with a KeyError."""
    t, y, on = _burden_data()
    df = pd.DataFrame({"patient": 1, "day": t, "psa": y, "on_treatment": on.astype(int)})
    df["cycle"] = np.where(t < 200, 1, 2)
    assert fit_psa_cohort(df)["status"].iloc[0] == "ok"
    bad = df.assign(on_treatment=df["on_treatment"].astype(object))
    bad.loc[4, "on_treatment"] = "yes"
    msg = _err(fit_psa_cohort, bad, match=r"column 'on_treatment', row 4")
    assert "'yes'" in msg
    bad.loc[4, "on_treatment"] = 3
    _err(forecast_next_cycle, bad, match=r"column 'on_treatment', row 4: 3")
    text = df.assign(psa=df["psa"].astype(object))
    text.loc[2, "psa"] = "high"
    _err(fit_psa_cohort, text, match=r"column 'psa', row 2: 'high' is not a number")
    with pytest.raises(SchemaError, match="on_treatment"):
        fit_psa_cohort(df.drop(columns="on_treatment"))


@pytest.mark.parametrize(("value", "ok"), [("yes", False), (3, False), ("No", False),
                                           ("FALSE", True), ("1", True), (True, True)])  # fmt: skip
def test_model_resistant_flag_is_a_boolean(value, ok):
    """Regression guard: resistant: 'no' was read as True (bool of a non-empty string)."""
    d = {"clones": [{"name": "S", "birth_rate": 0.1, "initial": 10, "resistant": value}]}
    if ok:
        m = model_from_dict(d)
        assert m.clones[0].resistant is (str(value).lower() in ("1", "true"))
    else:
        _err(model_from_dict, d, match=r"clones\[0\]\.resistant: .* not a boolean")
    if not ok:
        with pytest.raises(InputError, match="resistant"):
            Clone("S", 0.1, initial=1, resistant=value)
        with pytest.raises(InputError, match="resistant"):
            clone_from_fit({"ic50": 0.1, "einf": 0.1}, name="S", drug="d", birth_rate=0.1,
                           resistant=value)  # fmt: skip


def _bru_line(day: int, on: str = "1", patient: str = "7") -> str:
    return f"{patient},1995/6/27 0:00:00,200,7.5,4.6,0.3,1,{on},{9000 + day},{day}"


def test_bruchovsky_file_flags_and_numbers(tmp_path):
    """Regression guard: on_treatment = 3 was read as on, 'yes' and a missing flag were
    ValueErrors, a patient file with an extra column shifted every column silently."""
    p = tmp_path / "patient007.txt"
    p.write_text("\n".join(_bru_line(d) for d in (0, 28, 56)) + "\n")
    df = _read_bruchovsky_file(p, 7)
    assert df["on_treatment"].dtype == bool and df["on_treatment"].all()
    for bad, match in (("3", r"line 2, column 'on_treatment'.*3"), ("yes", "'yes'"), ("", "nan")):
        p.write_text("\n".join([_bru_line(0), _bru_line(28, on=bad), _bru_line(56)]) + "\n")
        assert str(p) in _err(_read_bruchovsky_file, p, 7, match=match)
    p.write_text("\n".join(_bru_line(d) + ",x" for d in (0, 28)) + "\n")
    with pytest.raises(SchemaError, match="11 columns"):
        _read_bruchovsky_file(p, 7)
    p.write_text("\n".join([_bru_line(0), _bru_line(28, patient="8")]) + "\n")
    _err(_read_bruchovsky_file, p, 7, match="line 2: patient 8 in a file of patient 7")
    p.write_text(_bru_line(0).replace(",4.6,", ",abc,") + "\n")
    _err(_read_bruchovsky_file, p, 7, match=r"line 1, column 'psa': 'abc'")
    p.write_bytes(b"")
    _err(_read_bruchovsky_file, p, 7, match="empty")


def test_pdxe_table_errors(tmp_path):
    """Regression guard: a text volume was a ValueError traceback, a missing column a KeyError."""
    p = tmp_path / "v.csv"
    head = "model.id,drug,time,volume,body.weight\n"
    p.write_text(head + "X1,BGJ398,0.0,199.7,28.2\nX1,BGJ398,2.0,big,28.0\n")
    _err(_read_pdxe_volumes, p, match=r"line 3, column 'volume': 'big'")
    p.write_text("model.id,drug,time\nX1,A,0\n")
    with pytest.raises(SchemaError, match="volume"):
        _read_pdxe_volumes(p)
    p.write_text(head + 'X1,A,0,1,"2\n')
    _err(_read_pdxe_volumes, p, match="cannot read")


# --------------------------------------------------------------------------- 5. bounded work


def _one_clone(b: float = 0.1, **kw) -> Model:
    return Model(clones=(Clone("S", b, 0.05, initial=1e3, **kw),), name="one")


@pytest.mark.parametrize("method", ["ode", "gillespie", "tau_leap", "branching"])
def test_absurd_birth_rate_is_refused_fast(method):
    """Regression guard: a birth rate of 1e300 hung the ODE and Gillespie engines and was a
    numpy ValueError in tau_leap / branching."""
    t0 = time.perf_counter()
    msg = _err(simulate, _one_clone(1e300), Schedule("none"), method=method, match="per-cell rate")
    assert f"{MAX_RATE:.0e}" in msg and time.perf_counter() - t0 < 5


@pytest.mark.parametrize("method", ["ode", "gillespie", "tau_leap", "branching"])
def test_tiny_step_is_refused_with_the_fix(method):
    """Regression guard: dt = 1e-9 over a year tried to allocate 3.65e11 steps (a hang or a
    MemoryError)."""
    msg = _err(simulate, _one_clone(), Schedule("none"), method=method, t_end=365, dt=1e-9,
               match="above the limit")  # fmt: skip
    assert f"{MAX_STEPS:,}" in msg and "larger dt" in msg


@pytest.mark.parametrize("rate", [-0.1, math.nan, math.inf, "fast", True])
def test_bad_rates_are_input_errors(rate):
    """Regression guard: negative, NaN and infinite rates are refused where the clone is built."""
    with pytest.raises(InputError, match="birth_rate"):
        Clone("S", rate, initial=1)
    with pytest.raises(InputError, match="birth_rate"):
        model_from_dict({"clones": [{"name": "S", "birth_rate": rate, "initial": 1}]})


def test_fuzz_finding_absurd_half_life_and_decay():
    """Regression guard (long fuzz campaign): half_life: 1e-300 (an elimination rate of 7e299
    per day) hung the ODE solver; a biomarker decay rate of 1e300 likewise."""
    from oncoresist.evolution import Biomarker, Drug

    m = Model(
        clones=(Clone("S", 0.1, initial=10, effects=(("A", DrugEffect(0.1)),)),),
        drugs=(Drug("A", pk="one_compartment", half_life=1e-300),),
    )
    s = Schedule("s", (Regimen("A", kind="boluses", interval=2.0),))
    t0 = time.perf_counter()
    _err(simulate, m, s, t_end=20, match="half-life .* elimination rate")
    m = Model(clones=(Clone("S", 0.1, initial=10),), biomarker=Biomarker(decay_rate=1e300))
    _err(simulate, m, Schedule("none"), t_end=20, match="decay_rate")
    assert time.perf_counter() - t0 < 5


def test_unbounded_growth_is_an_error_not_nan():
    """Regression guard: exponential growth over the horizon overflowed to NaN results (ode)
    or int64 garbage / numpy errors (stochastic engines)."""
    m = _one_clone(10.0)
    _err(simulate, m, Schedule("none"), method="ode", match="overflow.*carrying capacity")
    for method in ("tau_leap", "branching"):
        _err(simulate, m, Schedule("none"), method=method, dt=0.01, t_end=10,
             match="too large to count")  # fmt: skip
    t0 = time.perf_counter()
    _err(simulate, m, Schedule("none"), method="gillespie", match="too slow")
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize(
    ("regimen", "adaptive"),
    [
        (Regimen("A", kind="boluses", interval=1e-6), None),
        (Regimen("A", kind="intermittent", on=1e-6, off=1e-6), None),
        (Regimen("A"), {"check_every": 1e-6}),
    ],
)
def test_schedule_changes_are_bounded(regimen, adaptive):
    """Regression guard: a bolus interval, on/off period or check_every of 1e-6 days built
    arrays of 1e8+ entries (memory blow-up / hang)."""
    from oncoresist.evolution import AdaptiveRule, Drug

    m = Model(clones=(Clone("S", 0.1, 0.05, initial=1e3),), drugs=(Drug("A"),))
    s = Schedule("s", (regimen,), AdaptiveRule(**adaptive) if adaptive else None)
    _err(simulate, m, s, t_end=365, match="changes dosing or is checked about")


def test_schedule_without_regimens_is_an_untreated_run():
    """Regression guard: a schedule with no drugs is a documented untreated control."""
    res = simulate(_one_clone(), Schedule("untreated"), t_end=10, dt=1)
    assert res.runs["time_on_drug"].iloc[0] == 0
    assert res.runs["final_burden"].iloc[0] == pytest.approx(1e3 * math.exp(0.05 * 10))
    s = schedule_from_dict({"name": "none", "regimens": []})
    assert s.regimens == ()


@pytest.mark.parametrize("name", ["", "   "])
def test_empty_schedule_name_is_an_error(name):
    """Regression guard: load_schedule('') looked for the folder '.' ('file not found')."""
    assert "empty name" in _err(load_schedule, name)
    assert "empty name" in _err(load_model, name)


def test_simulate_argument_types():
    """Regression guard: a list of schedules, a text t_end or n_runs=0 were tracebacks."""
    m = _one_clone()
    _err(simulate, m, [Schedule("a")], match="one schedule per call")
    _err(simulate, m, Schedule("a"), t_end="long", match="t_end must be a number")
    _err(simulate, m, Schedule("a"), n_runs=0, match="n_runs")
    _err(simulate, m, Schedule("a"), variation={"S.birth_rate": "x"}, match="not a number")


# --------------------------------------------------------------------------- 6. prediction


def _design():
    panel, _ = make_response_panel(n_samples=30, n_drugs=3, rng=0)
    return _pair_frame(panel)


@pytest.mark.parametrize("n_splits", [0, 1, -3, 2.5, True, "3"])
def test_evaluate_n_splits_is_checked(n_splits):
    """Regression guard: evaluate(n_splits=0) (predict evaluate --n-splits 0) was a scikit-learn
    InvalidParameterError traceback."""
    X, y = _design()
    models = {"drug_mean": DrugMean(), "mean_effects": MeanEffects()}
    _err(evaluate, models, X, y, splits=["cell_line"], n_splits=n_splits, match="n_splits")
    _err(make_folds, X, "cell_line", n_splits=n_splits, match="n_splits")


@pytest.mark.parametrize("n_samples", [-1, 0, 1, 2.5])
def test_panel_sizes_are_checked(n_samples):
    """Regression guard: predict train --n-samples -1 reached numpy's choice() (ValueError);
    the check runs before any data is loaded."""
    _err(load_tgsa_panel, n_samples=n_samples, match="n_samples")
    if n_samples != 1:  # one drug is a valid subset
        _err(load_tgsa_panel, n_drugs=n_samples, match="n_drugs")
    _err(make_response_panel, n_samples=n_samples, match="n_samples")


# --------------------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("p.yaml", b"sample: S\xe91\n"),
        ("p.yaml", b"cnv: 5\n"),
        ("p.tsv", b'gene\talteration\nEGFR\t"p.L858R\n'),
        ("p.vcf", b""),
    ],
)
def test_cli_annotate_bad_profile(tmp_path, capsys, name, data):
    """Regression guard: oncoresist annotate exits 2 with the file named, no traceback, and
    leaves the input untouched."""
    p = tmp_path / name
    p.write_bytes(data)
    out = tmp_path / "out.tsv"
    rc = main(["annotate", str(p), "-d", "erlotinib", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert p.name in err and "Traceback" not in err
    assert p.read_bytes() == data and not out.exists()


@pytest.mark.parametrize(
    ("model_text", "extra"),
    [
        (b"clones: 5\n", []),
        (b"name: \xff\n", []),
        (None, ["--dt", "1e-9", "--t-end", "365"]),
        (b"clones:\n  - {name: S, birth_rate: 1.0e300, initial: 10}\n", []),
    ],
)
def test_cli_simulate_bad_input(tmp_path, capsys, model_text, extra):
    """Regression guard: oncoresist simulate exits 2 (no traceback, no hang) on a model of the
    wrong shape, non-UTF-8 bytes, a step of 1e-9 days or an absurd rate."""
    model = tmp_path / "m.yaml"
    data = (
        model_text if model_text is not None else example_path("two_drug_model.yaml").read_bytes()
    )
    model.write_bytes(data)
    sched = tmp_path / "s.yaml"
    sched.write_bytes(b"name: none\nregimens: []\n")
    rc = main(
        ["simulate", str(model), "--schedules", str(sched), "-o", str(tmp_path / "o"), *extra]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert "m.yaml" in err or "dt" in err or "rate" in err
    assert model.read_bytes() == data
    assert not (tmp_path / "o" / "comparison.csv").exists()


def test_cli_simulate_bad_schedule_and_empty_list(tmp_path, capsys):
    """Regression guard: a schedule of the wrong shape and --schedules '' exit 2."""
    model = tmp_path / "m.yaml"
    model.write_bytes(example_path("two_drug_model.yaml").read_bytes())
    sched = tmp_path / "s.yaml"
    sched.write_bytes(b"name: s\nregimens: 1.0e308\n")
    rc = main(["simulate", str(model), "--schedules", str(sched), "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "s.yaml" in err and "regimens" in err and "Traceback" not in err
    rc = main(["simulate", str(model), "--schedules", "", "-o", str(tmp_path / "o")])
    assert rc == 2 and "Traceback" not in capsys.readouterr().err


def test_json_profile_round_trip(tmp_path):
    """Regression guard: a valid JSON profile still reads (the stricter checks keep it)."""
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"sample": "S1", "mutations": ["EGFR L858R"], "cnv": {"MET": 2}}))
    prof = read_profile(p)
    assert prof.mutations.gene.tolist() == ["EGFR"]
    assert prof.cnv.call.tolist() == ["amplification"]


def test_compare_schedules_needs_results():
    """Regression guard: an empty list (or an unknown reference) was an IndexError."""
    from oncoresist.evolution import compare_schedules

    with pytest.raises(InputError, match="no results to compare"):
        compare_schedules([])
