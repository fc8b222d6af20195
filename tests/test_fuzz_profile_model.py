"""Fuzz suite of profiles, evolution models/schedules, CIViC evidence and the burden loaders.

Every reader starts from a small valid file (the shipped ``evolution/examples/*.yaml``, a
profile of each layout, a CIViC evidence TSV, synthetic Bruchovsky and PDXE files in their
layouts) and gets the shared byte mutations of ``tests/_fuzz.py``. YAML byte noise mostly
breaks the syntax, so models and schedules also get *structured* mutations: one value of the
parsed file replaced by ``5``, ``[]``, ``{}``, ``"yes"``, ``1e308``, ``-1``, ``null``, a long
string and similar, a key removed or an unknown key added. Each input must read or raise an
:class:`~oncoresist.errors.OncoresistError`; anything else is a crash. Structurally mutated
models are also simulated briefly under a time limit: they run or raise our error, never hang.

The budget is fixed and derandomised (``FUZZ_SETTINGS``); for a long random campaign run
``ONCORESIST_FUZZ_EXAMPLES=1000 ONCORESIST_FUZZ_RANDOM=1 pytest tests/test_fuzz_profile_model.py``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import signal
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from _fuzz import FUZZ_SETTINGS, mutated, reads_or_raises_own_error
from oncoresist.errors import OncoresistError
from oncoresist.evolution import (
    example_path,
    fit_psa_cohort,
    load_model,
    load_schedule,
    simulate,
)
from oncoresist.evolution._data import (
    _combine_bruchovsky,
    _read_bruchovsky_file,
    _read_pdxe_volumes,
)
from oncoresist.mechanisms import read_civic_evidence, read_profile

EXAMPLES = Path(str(example_path("adaptive.yaml").parent))
MODEL_FILES = ("two_drug_model.yaml", "zhang2017_model.yaml")
# every shipped model file (a mapping with clones); the others are schedules
ALL_MODEL_FILES = tuple(
    sorted(
        p.name for p in EXAMPLES.glob("*.yaml") if "clones" in (yaml.safe_load(p.read_text()) or {})
    )
)
SCHEDULE_FILES = tuple(
    sorted(p.name for p in EXAMPLES.glob("*.yaml") if p.name not in ALL_MODEL_FILES)
)

# ----------------------------------------------------------------------------- valid inputs
PROFILES: dict[str, bytes] = {
    "p.yaml": (
        b"# a comment\nsample: S1\ntissue: lung\nmutations:\n"
        b"  - {gene: EGFR, alteration: p.L858R}\n  - EGFR T790M\ncnv:\n  CDKN2A: deletion\n"
        b"  MET: 2\nexpression: {EGFR: 8.5, MET: 12.25}\n"
    ),
    "p.json": json.dumps(
        {
            "sample": "S1",
            "mutations": {"EGFR": ["L858R", "T790M"], "KRAS": "G12C"},
            "cnv": [{"gene": "MET", "call": "amplification"}],
            "expression": {"EGFR": 8.5, "MET": 12.25},
        }
    ).encode(),
    "p.tsv": b"# exported\ngene\talteration\nEGFR\tp.L858R\nEGFR\tp.T790M\nKRAS\tG12C\n",
    "p.maf": (
        b"Hugo_Symbol\tHGVSp_Short\tTumor_Sample_Barcode\tVariant_Classification\n"
        b"ABL1\tp.T315I\tCML1\tMissense_Mutation\nTP53\tp.R273H\tCML1\tMissense_Mutation\n"
    ),
    "p.csv": b"symbol,protein_change\nBRAF,V600E\nNRAS,Q61K\n",
    "p.vcf": (
        b"##fileformat=VCFv4.2\n"
        b'##INFO=<ID=CSQ,Number=.,Type=String,Description="Format: SYMBOL|HGVSp">\n'
        b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        b"7\t55249071\t.\tC\tT\t.\tPASS\tGENE=EGFR;HGVSP=p.T790M\n"
        b"12\t25398284\t.\tC\tA\t.\tPASS\tCSQ=KRAS|ENSP1:p.G12C\n"
    ),
}
EXPRESSION_TSV = b"gene\tS1\tS2\nEGFR\t8.5\t7.0\nMET\t12.25\t3.5\nABC\t1\t2\n"

CIVIC_COLS = (
    "gene\tentrez_id\tvariant\tdisease\tdrugs\tdrug_interaction_type\tevidence_type\t"
    "evidence_direction\tevidence_level\tclinical_significance\tevidence_statement\t"
    "citation_id\tsource_type\trating\tevidence_status\tevidence_id"
)
CIVIC_TSV = (
    CIVIC_COLS
    + "\nEGFR\t1956\tT790M\tLung Cancer\tErlotinib\t\tPredictive\tSupports\tA\tResistance\t"
    "Gatekeeper.\t15737014\tPubMed\t5\taccepted\t1\n"
    "EGFR\t1956\tExon 19 Deletion\tLung Cancer\tGefitinib,Erlotinib\tSubstitutes\tPredictive\t"
    "Supports\tB\tSensitivity/Response\tDel19.\t15118073\tPubMed\t4\taccepted\t2\n"
    "KRAS\t3845\tG12C\tColorectal Cancer\tCetuximab\t\tPredictive\tSupports\tB\tResistance\t"
    'A "quoted" word.\t18202412\tPubMed\t3\taccepted\t3\n'
    "BRAF\t673\tV600E\tMelanoma\tVemurafenib;Cobimetinib\tCombination\tPredictive\tSupports\t"
    "A\tSensitivity/Response\tCombo.\t25265494\tPubMed\t5\tsubmitted\t4\n"
    "MET\t4233\tAMPLIFICATION\tLung Cancer\tGefitinib\t\tPredictive\tSupports\tC\tResistance\t"
    "Bypass.\t17463250\tPubMed\t3\taccepted\t5\n"
    "JAK2\t3717\tV617F\tLeukemia\t\t\tDiagnostic\tSupports\tB\tNegative\tNot predictive.\t"
    "16081687\tPubMed\t4\taccepted\t6\n"
).encode()


def _bruchovsky(patient: int = 7) -> bytes:
    rows = []
    for i, (psa, on, cycle) in enumerate(
        [
            (12.0, 1, 1),
            (6.1, 1, 1),
            (2.2, 1, 1),
            (1.1, 0, 1),
            (3.5, 0, 1),
            (9.8, 1, 2),
            (4.0, 1, 2),
            ("", 1, 2),
            (1.5, 0, 2),
        ]
    ):
        day = 28 * i
        rows.append(
            f"{patient},1996/{1 + i}/2 0:00:00,{'FLU' if i == 2 else 200},{7.5 if i else ''},"
            f"{psa},{0.3 + i / 10:.1f},{cycle},{on},{9300 + day},{16 + day}"
        )
    return ("\n".join(rows) + "\n").encode()


PDXE_CSV = (
    b"model.id,drug,time,volume,body.weight\n"
    b"X.1004.BG98,BGJ398,0.0,199.7,28.2\nX.1004.BG98,BGJ398,2.0,181.9,28.0\n"
    b"X.1004.BG98,BGJ398,5.0,170.3,\nX.1004.biib,untreated,0.0,210.0,27.1\n"
    b"X.1004.biib,untreated,3.0,260.5,27.3\n"
)

# ----------------------------------------------------------------------------- structured
#: What a user's model/schedule file may hold where a number, a list or a name belongs.
ODD_VALUES: tuple[Any, ...] = (
    5,
    0,
    -1,
    1e308,
    -1e308,
    1e-300,
    float("nan"),
    float("inf"),
    [],
    {},
    [[1, 2], [3]],
    {"a": 1},
    "yes",
    "1e308",
    "",
    None,
    True,
    "x" * 5000,
    10**400,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value of a parsed YAML tree (the root excluded)."""
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for k, v in items:
        yield (*prefix, k)
        yield from _paths(v, (*prefix, k))


def _parent(tree: Any, path: tuple[Any, ...]) -> Any:
    node = tree
    for k in path[:-1]:
        node = node[k]
    return node


@st.composite
def structured(draw: Callable[[Any], Any], tree: dict[str, Any]) -> dict[str, Any]:
    """``tree`` with 1-3 structural edits: a value replaced, a key dropped or an unknown key."""
    out = copy.deepcopy(tree)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(out))
        kind = draw(st.sampled_from(("replace", "replace", "replace", "drop", "add")))
        if kind == "add" or not paths:
            target = _parent(out, (*draw(st.sampled_from(paths)), None)) if paths else out
            if isinstance(target, dict):
                target[draw(st.sampled_from(("extra", "birthrate", "on", 1)))] = 1
            elif isinstance(target, list):
                target.append(copy.deepcopy(draw(st.sampled_from(ODD_VALUES))))
            continue
        path = draw(st.sampled_from(paths))
        parent = _parent(out, path)
        if kind == "drop":
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
    return out


def _dump(tree: Any, suffix: str) -> bytes:
    if suffix == ".json":
        return json.dumps(tree, default=str).encode()
    try:
        return yaml.safe_dump(tree, sort_keys=False).encode()
    except yaml.YAMLError:
        return json.dumps(tree, default=str).encode()  # JSON is YAML


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    """Fail (not hang) when the block runs longer than ``seconds`` (SIGALRM, main thread)."""

    def _raise(_signum: int, _frame: Any) -> None:
        raise _Timeout(f"took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _load_tree(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / name).read_text())


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


# ----------------------------------------------------------------------------- contracts


def test_valid_examples_read(folder):
    """Contract test: every starting file of the fuzz suite is valid and reads."""
    for name, data in PROFILES.items():
        (folder / name).write_bytes(data)
        prof = read_profile(folder / name, sample="CML1" if name == "p.maf" else None)
        assert len(prof.mutations) + len(prof.cnv) > 0, name
    for name in ALL_MODEL_FILES:
        assert load_model(EXAMPLES / name).clones
    assert len(SCHEDULE_FILES) >= 6
    for name in SCHEDULE_FILES:
        sched = load_schedule(EXAMPLES / name)
        assert sched.regimens or sched.lines, name  # treatment lines: regimens per line
    (folder / "civic.tsv").write_bytes(CIVIC_TSV)
    civ = read_civic_evidence(folder / "civic.tsv")
    assert len(civ.evidence) == 5 and len(civ.excluded) == 1
    (folder / "patient007.txt").write_bytes(_bruchovsky())
    psa = _combine_bruchovsky([_read_bruchovsky_file(folder / "patient007.txt", 7)])
    assert psa.attrs["n_missing_psa"] == 1 and psa["on_treatment"].dtype == bool
    (folder / "v.csv").write_bytes(PDXE_CSV)
    assert _read_pdxe_volumes(folder / "v.csv").attrs["n_missing_volume"] == 0


# ----------------------------------------------------------------------------- profiles


@pytest.mark.parametrize("name", sorted(PROFILES))
@FUZZ_SETTINGS
@given(data=st.data())
def test_profile_reads_or_raises_own_error(folder, name, data):
    """Fuzz: a mutated profile of each layout (YAML, JSON, TSV, MAF, CSV, VCF) reads or raises."""
    blob = data.draw(mutated(PROFILES[name]), label="file")
    reads_or_raises_own_error(read_profile, folder / name, blob)


@FUZZ_SETTINGS
@given(blob=mutated(EXPRESSION_TSV))
def test_profile_expression_table_reads_or_raises_own_error(folder, blob):
    """Fuzz: a YAML profile pointing at a mutated genes x samples expression TSV."""
    sub = folder / "expr"
    sub.mkdir(exist_ok=True)
    (sub / "p.yaml").write_bytes(b"sample: S1\nmutations: [EGFR L858R]\nexpression: e.tsv\n")
    reads_or_raises_own_error(lambda _p: read_profile(sub / "p.yaml"), sub / "e.tsv", blob)


@FUZZ_SETTINGS
@given(
    tree=structured(yaml.safe_load(PROFILES["p.yaml"])), suffix=st.sampled_from([".yaml", ".json"])
)
def test_profile_structured_reads_or_raises_own_error(folder, tree, suffix):
    """Fuzz: a YAML/JSON profile with values of the wrong shape reads or raises."""
    reads_or_raises_own_error(read_profile, folder / f"s{suffix}", _dump(tree, suffix))


# ----------------------------------------------------------------------------- models, schedules


@FUZZ_SETTINGS
@given(data=st.data())
def test_model_file_reads_or_raises_own_error(folder, data):
    """Fuzz: byte mutations of the shipped example models."""
    name = data.draw(st.sampled_from(MODEL_FILES), label="example")
    blob = data.draw(mutated((EXAMPLES / name).read_bytes()), label="file")
    reads_or_raises_own_error(load_model, folder / name, blob)


@FUZZ_SETTINGS
@given(data=st.data())
def test_schedule_file_reads_or_raises_own_error(folder, data):
    """Fuzz: byte mutations of the shipped example schedules."""
    name = data.draw(st.sampled_from(SCHEDULE_FILES), label="example")
    blob = data.draw(mutated((EXAMPLES / name).read_bytes()), label="file")
    reads_or_raises_own_error(load_schedule, folder / name, blob)


@pytest.mark.parametrize("name", MODEL_FILES)
@FUZZ_SETTINGS
@given(data=st.data())
def test_model_structured_reads_or_raises_own_error(folder, name, data):
    """Fuzz: one to three values of an example model replaced by values of the wrong shape."""
    tree = data.draw(structured(_load_tree(name)), label="model")
    suffix = data.draw(st.sampled_from([".yaml", ".json"]), label="format")
    reads_or_raises_own_error(load_model, folder / f"m{suffix}", _dump(tree, suffix))


@FUZZ_SETTINGS
@given(data=st.data())
def test_schedule_structured_reads_or_raises_own_error(folder, data):
    """Fuzz: values of an example schedule replaced by values of the wrong shape."""
    name = data.draw(st.sampled_from(SCHEDULE_FILES), label="example")
    tree = data.draw(structured(_load_tree(name)), label="schedule")
    suffix = data.draw(st.sampled_from([".yaml", ".json"]), label="format")
    reads_or_raises_own_error(load_schedule, folder / f"s{suffix}", _dump(tree, suffix))


_SIM_MODEL = {
    "name": "fuzz",
    "growth": "logistic",
    "drugs": [{"name": "A", "pk": "one_compartment", "half_life": 0.5}, {"name": "B"}],
    "clones": [
        {
            "name": "S",
            "birth_rate": 0.3,
            "death_rate": 0.1,
            "carrying_capacity": 5000,
            "initial": 200,
            "effects": {"A": {"emax": 0.5, "ic50": 0.1}, "B": {"emax": 0.2}},
        },
        {
            "name": "R",
            "birth_rate": 0.25,
            "death_rate": 0.1,
            "carrying_capacity": 5000,
            "resistant": True,
        },
    ],
    "transitions": [{"source": "S", "target": "R", "rate": 0.001}],
    "biomarker": {"name": "psa", "decay_rate": 0.5},
}
_SIM_SCHEDULE = {
    "name": "fuzz",
    "regimens": [
        {"drug": "A", "type": "boluses", "amount": 1.0, "interval": 2.0},
        {"drug": "B", "type": "intermittent", "level": 1.0, "days_on": 5, "days_off": 3},
    ],
    "adaptive": {"stop_below": 0.5, "resume_above": 1.0, "check_every": 4},
}


@FUZZ_SETTINGS
@given(
    model=structured(_SIM_MODEL),
    schedule=structured(_SIM_SCHEDULE),
    method=st.sampled_from(["ode", "gillespie", "tau_leap", "branching"]),
)
def test_structured_model_simulates_or_raises_own_error(folder, model, schedule, method):
    """Fuzz: a model and a schedule with wrong-shaped values load and simulate briefly, or raise
    our own error; never a crash and never more than a bounded time."""
    (folder / "sm.yaml").write_bytes(_dump(model, ".yaml"))
    (folder / "ss.yaml").write_bytes(_dump(schedule, ".yaml"))
    try:
        with warnings.catch_warnings(), _time_limit(30):
            warnings.simplefilter("ignore")
            m = load_model(folder / "sm.yaml")
            s = load_schedule(folder / "ss.yaml")
            res = simulate(m, s, method=method, t_end=20.0, dt=0.5, n_runs=2, rng=0)
    except OncoresistError:
        return
    except _Timeout as exc:
        raise AssertionError(
            f"simulate did not finish: {exc}; model {model}, schedule {schedule}"
        ) from None
    except Exception as exc:
        raise AssertionError(
            f"{type(exc).__name__} escaped for model {model}, schedule {schedule}: {exc}"
        ) from exc
    final = res.runs["final_burden"].to_numpy()
    assert all(math.isfinite(v) and v >= 0 for v in final), res.runs


# ----------------------------------------------------------------------------- CIViC, data


@FUZZ_SETTINGS
@given(blob=mutated(CIVIC_TSV))
def test_civic_evidence_reads_or_raises_own_error(folder, blob):
    """Fuzz: a mutated CIViC ClinicalEvidenceSummaries TSV reads or raises."""
    reads_or_raises_own_error(read_civic_evidence, folder / "civic.tsv", blob)


def _read_and_fit_bruchovsky(path: Path) -> None:
    psa = _combine_bruchovsky([_read_bruchovsky_file(path, 7)])
    fit_psa_cohort(psa)


@FUZZ_SETTINGS
@given(blob=mutated(_bruchovsky()))
def test_bruchovsky_file_reads_or_raises_own_error(folder, blob):
    """Fuzz: a mutated Bruchovsky patient file parses (and fits) or raises our error."""
    reads_or_raises_own_error(_read_and_fit_bruchovsky, folder / "patient007.txt", blob)


@FUZZ_SETTINGS
@given(blob=mutated(PDXE_CSV))
def test_pdxe_table_reads_or_raises_own_error(folder, blob):
    """Fuzz: a mutated PDXE long volume table parses or raises our error."""
    reads_or_raises_own_error(_read_pdxe_volumes, folder / "v.csv", blob)
