"""Every damaged-file case of issue 19, through the command line a user runs.

Each case writes a small valid file (made here), damages it the way fuzzing or a user did, and
runs the command on it. It must exit 2, print the project's message naming the file (and the
row, column or key where there is one), print no traceback, write no output, and leave the
input byte-identical. The reader-level tests (``test_*_errors*.py``) pin the exact messages;
this file proves the promise end to end. Evidence kind: behaviour check of the README's
guarantees (regression guards, not reference values).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from oncoresist.cli import main
from test_screen_reader_errors import CC, TOML

EXAMPLES = Path(__file__).parents[1] / "src" / "oncoresist" / "evolution" / "examples"

# --------------------------------------------------------------------- valid starting points

SCREEN = "sample,drug,conc,conc_unit,viability,replicate\n" + "".join(
    f"A,x,{c},uM,{v},{r}\n"
    for r in (1, 2)
    for c, v in ((0.01, 1.0), (0.1, 0.95), (1, 0.6), (10, 0.2), (100, 0.05))
)


def _gdsc_rows(position="1", drug_id="1003", cell_id="1101", tag="L1-D1-S") -> str:
    head = ("BARCODE,SCAN_ID,DRUGSET_ID,MASTER_CELL_ID,COSMIC_ID,CELL_LINE_NAME,POSITION,TAG,"
            "DRUG_ID,CONC,INTENSITY\n")  # fmt: skip
    rows = [
        f"7,70,511,{cell_id},906793,A375,{position},{tag},{drug_id},0.1,5000",
        "7,70,511,1101,906793,A375,50,NC-1,,,30000",
        "7,70,511,1101,906793,A375,52,B,,,800",
        "7,70,511,1101,906793,A375,100,L1-D2-S,1003,0.0316,20000",
    ]
    return head + "\n".join(rows) + "\n"


# the CurveCurator parameter file and table of the reader-level tests
CC_TOML, CC_TABLE = TOML, CC


def _blocks() -> str:
    rows = []
    for c1 in (0, 1, 10):
        for c2 in (0, 1, 10):
            rows.append(f"1,a,b,{c1},{c2},{min(95, 10 * (c1 + c2) ** 0.5):.1f},uM")
    return "block_id,drug1,drug2,conc1,conc2,response,conc_unit\n" + "\n".join(rows) + "\n"


BLOCKS = _blocks()
PROFILE = "sample: R1\nmutations:\n  - EGFR L858R\n  - EGFR T790M\ncnv:\n  MET: amplification\n"
MODEL = (EXAMPLES / "zhang2017_model.yaml").read_text(encoding="utf-8")
SCHEDULE = (EXAMPLES / "continuous.yaml").read_text(encoding="utf-8")


def _parquet_bytes(text: str, tmp: Path) -> bytes:
    from io import StringIO

    path = tmp / "_v.parquet"
    pd.read_csv(StringIO(text)).to_parquet(path, index=False)
    data = path.read_bytes()
    path.unlink()
    return data


# --------------------------------------------------------------------- the cases


def _run(tmp_path: Path, files: dict[str, bytes | str], argv: Callable[[Path], list[str]]):
    paths = {}
    for name, data in files.items():
        p = tmp_path / name
        p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        paths[name] = p
    digests = {n: hashlib.sha256(p.read_bytes()).hexdigest() for n, p in paths.items()}
    out = tmp_path / "out"
    rc = main([*argv(tmp_path), "-o", str(out)])
    return rc, paths, digests, out


def _fit(name: str) -> Callable[[Path], list[str]]:
    return lambda d: ["fit", str(d / name), "--quiet"]


def _synergy(name: str) -> Callable[[Path], list[str]]:
    return lambda d: ["synergy", str(d / name)]


def _annotate(name: str) -> Callable[[Path], list[str]]:
    return lambda d: ["annotate", str(d / name), "--drug", "gefitinib"]


def _simulate(model: str = "m.yaml", *extra: str) -> Callable[[Path], list[str]]:
    return lambda d: ["simulate", str(d / model), "--schedules", str(d / "s.yaml"),
                      "--t-end", "30", *extra]  # fmt: skip


CASES: dict[str, tuple[dict[str, bytes | str], Callable[[Path], list[str]], tuple[str, ...]]] = {
    # --- tidy screens (read_screen)
    "screen: empty file": ({"s.csv": b""}, _fit("s.csv"), ("s.csv",)),
    "screen: unbalanced quote": (
        {"s.csv": SCREEN.replace("A,x,1,", 'A,"x,1,')}, _fit("s.csv"), ("s.csv",)),
    "screen: replicate abc": (
        {"s.csv": SCREEN.replace("uM,0.6,1", "uM,0.6,abc")}, _fit("s.csv"), ("s.csv", "replicate")),
    "screen: replicate 1,5 (quoted)": (
        {"s.csv": SCREEN.replace("uM,0.6,1", 'uM,0.6,"1,5"')}, _fit("s.csv"), ("replicate",)),
    "screen: replicate 0x10": (
        {"s.csv": SCREEN.replace("uM,0.6,1", "uM,0.6,0x10")}, _fit("s.csv"), ("replicate",)),
    "screen: replicate True": (
        {"s.csv": SCREEN.replace("uM,0.6,1", "uM,0.6,True")}, _fit("s.csv"), ("replicate",)),
    "screen: replicate 1.7": (
        {"s.csv": SCREEN.replace("uM,0.6,1", "uM,0.6,1.7")}, _fit("s.csv"), ("replicate",)),
    "screen: replicate inf": (
        {"s.csv": SCREEN.replace("uM,0.6,1", "uM,0.6,inf")}, _fit("s.csv"), ("replicate",)),
    "screen: replicate 1e309": (
        {"s.csv": SCREEN.replace("uM,0.6,1", "uM,0.6,1e309")}, _fit("s.csv"), ("replicate",)),
    "screen: row 1e30": (
        {"s.csv": SCREEN.replace("replicate\n", "replicate,row\n", 1)
         .replace(",1\n", ",1,1\n").replace(",2\n", ",2,1e30\n")},
        _fit("s.csv"), ("row",)),
    "screen: corrupt parquet": (
        {"s.parquet": b"PAR1" + b"\x01" * 64 + b"PAR1"}, _fit("s.parquet"), ("s.parquet",)),
    # --- GDSC raw
    "gdsc: header only": (
        {"g.csv": _gdsc_rows().splitlines()[0] + "\n"}, _fit("g.csv"), ("g.csv",)),
    "gdsc: fractional DRUG_ID": (
        {"g.csv": _gdsc_rows(drug_id="1003.5")}, _fit("g.csv"), ("DRUG_ID",)),
    "gdsc: overflowing MASTER_CELL_ID": (
        {"g.csv": _gdsc_rows(cell_id="99999999999999999999999")}, _fit("g.csv"),
        ("MASTER_CELL_ID",)),
    "gdsc: POSITION 1.9": ({"g.csv": _gdsc_rows(position="1.9")}, _fit("g.csv"), ("POSITION",)),
    "gdsc: TAG with a 20-digit number": (
        {"g.csv": _gdsc_rows(tag="12345678901234567890")}, _fit("g.csv"), ("TAG",)),
    "gdsc: truncated last row": ({"g.csv": _gdsc_rows()[:-12]}, _fit("g.csv"), ("g.csv",)),
    # --- CurveCurator
    "curvecurator: TOML that does not parse": (
        {"p.toml": CC_TOML.replace("dose_unit = 'M'", "dose_unit = M"), "data.tsv": CC_TABLE},
        _fit("p.toml"), ("p.toml",)),
    "curvecurator: dose not a number": (
        {"p.toml": CC_TOML.replace("1.0, 10.0", "'a', 10.0"), "data.tsv": CC_TABLE},
        _fit("p.toml"), ("doses",)),
    "curvecurator: control not in the experiments": (
        {"p.toml": CC_TOML.replace("control_experiment = [0]", "control_experiment = [9]"),
         "data.tsv": CC_TABLE}, _fit("p.toml"), ("control",)),
    "curvecurator: doses and experiments differ in length": (
        {"p.toml": CC_TOML.replace("doses = [0.0, 1.0,", "doses = ["), "data.tsv": CC_TABLE},
        _fit("p.toml"), ("doses",)),
    "curvecurator: table with no rows": (
        {"p.toml": CC_TOML, "data.tsv": CC_TABLE.splitlines()[0] + "\n"}, _fit("p.toml"),
        ("data.tsv",)),
    "curvecurator: non-numeric cell": (
        {"p.toml": CC_TOML, "data.tsv": CC_TABLE.replace("\t400\t", "\tlots\t")},
        _fit("p.toml"), ("Raw 2",)),
    # --- combinations
    "combination: empty file": ({"c.csv": b""}, _synergy("c.csv"), ("c.csv",)),
    "combination: unbalanced quote": (
        {"c.csv": BLOCKS.replace("1,a,b,1,1", '1,"a,b,1,1')}, _synergy("c.csv"), ("c.csv",)),
    "combination: corrupt parquet": (
        {"c.parquet": b"PAR1" + b"\x00" * 64 + b"PAR1"}, _synergy("c.parquet"), ("c.parquet",)),
    "combination: all-NaN responses": (
        {"c.csv": "\n".join(
            ",".join("" if j == 5 and i else cell for j, cell in enumerate(line.split(",")))
            for i, line in enumerate(BLOCKS.splitlines())) + "\n"},
        _synergy("c.csv"), ("c.csv", "response")),
    "combination: missing single-agent row": (
        {"c.csv": "\n".join(line for line in BLOCKS.splitlines() if ",a,b,0," not in line)
         + "\n"}, _synergy("c.csv"), ("c.csv",)),
    "combination: 1x1 block": (
        {"c.csv": "block_id,drug1,drug2,conc1,conc2,response,conc_unit\n1,a,b,1,1,30,uM\n"},
        lambda d: ["synergy", str(d / "c.csv"), "--response-kind", "inhibition"],
        ("c.csv", "1 x 1")),
    "combination: duplicated wells": (
        {"c.csv": (BLOCKS + BLOCKS.splitlines()[5] + "\n").replace("conc_unit\n", "conc_unit,"
         "replicate\n").replace(",uM\n", ",uM,1\n")},
        _synergy("c.csv"), ("c.csv", "duplicated")),
    "combination: no concentration unit": (
        {"c.csv": BLOCKS.replace(",conc_unit", "").replace(",uM", "")}, _synergy("c.csv"),
        ("c.csv", "unit")),
    "combination: drug3 without conc3": (
        {"c.csv": "block_id,drug1,drug2,drug3,conc1,conc2,response,conc_unit\n"
         + "".join(f"1,a,b,c,{c1},{c2},{5 * (c1 + c2)},uM\n" for c1 in (0, 1) for c2 in (0, 1))},
        _synergy("c.csv"), ("conc3",)),
    # --- profiles
    "profile: empty YAML": ({"p.yaml": b""}, _annotate("p.yaml"), ("p.yaml",)),
    "profile: non-UTF-8 YAML": (
        {"p.yaml": PROFILE.encode().replace(b"R1", b"R\xff1")}, _annotate("p.yaml"),
        ("p.yaml",)),
    "profile: cnv: 5": ({"p.yaml": "sample: R1\ncnv: 5\n"}, _annotate("p.yaml"), ("cnv",)),
    "profile: mutations: 0": (
        {"p.yaml": "sample: R1\nmutations: 0\n"}, _annotate("p.yaml"), ("mutations",)),
    "profile: mutations: {x: 1}": (
        {"p.yaml": "sample: R1\nmutations: {x: 1}\n"}, _annotate("p.yaml"), ("mutations",)),
    "profile: broken JSON": ({"p.json": '{"sample": "R1", "mutations": ['}, _annotate("p.json"),
                             ("p.json",)),
    "profile: TSV unbalanced quote": (
        {"p.tsv": 'gene\tprotein_change\nEGFR\t"L858R\nEGFR\tT790M\n'}, _annotate("p.tsv"),
        ("p.tsv",)),
    "profile: non-UTF-8 VCF": (
        {"p.vcf": b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n7\t1\t\xff\xfe\tA\tT\n"},
        _annotate("p.vcf"), ("p.vcf",)),
    # --- models and schedules
    "model: clones: 5": (
        {"m.yaml": MODEL.split("clones:")[0] + "clones: 5\n", "s.yaml": SCHEDULE},
        _simulate(), ("clones",)),
    "model: drugs: 5": (
        {"m.yaml": MODEL.replace("drugs:\n  - name: abiraterone\n", "drugs: 5\n"),
         "s.yaml": SCHEDULE}, _simulate(), ("drugs",)),
    "model: ragged competition": (
        {"m.yaml": MODEL.replace("[0.4, 1.0, 0.5]", "[0.4, 1.0]"), "s.yaml": SCHEDULE},
        _simulate(), ("competition",)),
    "model: scalar effects": (
        {"m.yaml": MODEL.replace(
            "effects: {abiraterone: {emax: 0.99, ic50: 0.001, hill_slope: 4, target: capacity}}",
            "effects: 5"), "s.yaml": SCHEDULE}, _simulate(), ("effects",)),
    "model: non-UTF-8": (
        {"m.yaml": MODEL.encode().replace(b"zhang2017", b"zh\xffng"), "s.yaml": SCHEDULE},
        _simulate(), ("m.yaml",)),
    "model: birth rate 1e300": (
        {"m.yaml": MODEL.replace("birth_rate: 6.6542e-3", "birth_rate: 1e300"),
         "s.yaml": SCHEDULE}, _simulate(), ("1e+300", "per day")),
    "schedule: regimens: 1e308": (
        {"m.yaml": MODEL, "s.yaml": "name: x\nregimens: 1e308\n"}, _simulate(), ("regimens",)),
    "schedule: type: []": (
        {"m.yaml": MODEL, "s.yaml": SCHEDULE.replace("type: continuous", "type: []")},
        _simulate(), ("type",)),
    "simulate: --dt 1e-9 over a year": (
        {"m.yaml": MODEL, "s.yaml": SCHEDULE},
        lambda d: ["simulate", str(d / "m.yaml"), "--schedules", str(d / "s.yaml"),
                   "--method", "tau_leap", "--dt", "1e-9", "--t-end", "365"],
        ("dt",)),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_damaged_file_exits_2_with_a_clean_message_and_no_damage(tmp_path, capsys, case):
    files, argv, expected = CASES[case]
    rc, paths, digests, out = _run(tmp_path, files, argv)
    err = capsys.readouterr().err
    assert rc == 2, f"{case}: exit {rc}\n{err}"
    assert "Traceback" not in err
    for part in expected:
        assert part in err, f"{case}: {part!r} not in {err!r}"
    for name, path in paths.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digests[name], name
    assert not out.exists() or not any(out.iterdir())  # nothing written


def test_parquet_screen_with_inf_replicate_is_refused(tmp_path, capsys):
    data = _parquet_bytes(SCREEN.replace("uM,0.6,1", "uM,0.6,inf"), tmp_path)
    rc, *_ = _run(tmp_path, {"s.parquet": data}, _fit("s.parquet"))
    assert rc == 2
    err = capsys.readouterr().err
    assert "replicate" in err and "Traceback" not in err


def test_non_utf8_curvecurator_table_is_read_and_said(tmp_path):
    """Non-UTF-8 bytes (a cell-line name saved as cp1252) are decoded and the decoding is noted
    in the report, never a crash and never silent."""
    files = {"p.toml": CC_TOML, "data.tsv": CC_TABLE.encode().replace(b"A375", b"A37\xe9")}
    rc, paths, digests, out = _run(tmp_path, files, _fit("p.toml"))
    assert rc == 0
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "UTF-8" in report or "cp1252" in report
    for name, path in paths.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digests[name]
