import json
import math

import pytest

from comparisons import cli
from comparisons.report import Report, summarize

ALLOWED = {"bilo": (), "pinn": ("w_dat",)}


def test_parse_methods_with_options():
    specs = cli.parse_methods("bilo, pinn(w_dat=10),pinn(w_dat=1e3)", ALLOWED)
    assert [s.label for s in specs] == ["bilo", "pinn(w_dat=10)", "pinn(w_dat=1000)"]
    assert specs[2].options == {"w_dat": 1000.0}


@pytest.mark.parametrize("text, message", [
    ("bilo,fno", "unknown method 'fno'"),
    ("pinn(w=1)", "has no option 'w'"),
    ("pinn(w_dat=abc)", "is not a number"),
    ("pinn(w_dat=nan)", "must be finite"),
    ("pinn(w_dat=1", "unbalanced"),
    ("bilo,bilo", "twice"),
    ("", "empty"),
])
def test_parse_methods_errors(text, message):
    with pytest.raises(ValueError, match=message):
        cli.parse_methods(text, ALLOWED)


def test_common_parser_rejects_bad_flags(capsys):
    p = cli.common_parser("prog", "d", "bilo")
    p.add_argument("--truth", type=cli.float_pair(("rD", "rrho")))
    for bad in (["--noise", "-1"], ["--seeds", "0"], ["--truth", "1"], ["--truth", "1,inf"], ["--preset", "x"]):
        with pytest.raises(SystemExit):
            p.parse_args(bad)
    assert "--truth" in capsys.readouterr().err
    args = p.parse_args(["--truth", "2,3", "--noise", "0.1"])
    assert args.truth == (2.0, 3.0) and args.noise == 0.1


def test_summarize_and_report(tmp_path):
    s = summarize([1.0, 3.0, float("nan")])
    assert s == {"mean": 2.0, "std": math.sqrt(2.0), "n": 2}
    rep = Report(problem="p", preset="smoke", noise=0.0, seeds=2, ranks=1, device="cpu", config={"a": 1})
    rep.record("bilo").add({"rel_err[rD]": 0.1, "u_rel_l2": 0.01}, wall_s=1.0, steps=10, s_per_step=0.1)
    rep.record("bilo").add({"rel_err[rD]": 0.3, "u_rel_l2": 0.03}, wall_s=2.0, steps=10, s_per_step=0.2)
    rep.reference_rows["paper"] = {"rel_err[rD]": 0.05}
    rep.write(tmp_path)
    js = json.loads((tmp_path / "report.json").read_text())
    assert set(js) >= {"problem", "preset", "noise", "seeds", "ranks", "device", "config", "methods"}
    m = js["methods"]["bilo"]
    assert m["metrics"]["rel_err[rD]"]["mean"] == pytest.approx(0.2)
    assert m["metrics"]["rel_err[rD]"]["n"] == 2
    assert m["wall_s"] == 3.0 and m["steps"] == 10
    md = (tmp_path / "report.md").read_text()
    assert "| bilo |" in md and "published, not run" in md
