"""Output folders that never lie, checkpoints and --resume through the CLI, one-line user errors.

The comparison is the heat smoke preset (seconds per run); the kill -9 test interrupts a real
process in its fine-tuning and checks that the resumed report equals an uninterrupted one.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

from mpi4py import MPI  # noqa: E402

from comparisons import heat  # noqa: E402
from inverse.outputs import MARKER, RunFolder  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--preset", "smoke", "--quiet", "--methods", "bilo"]
# what may differ between an interrupted-and-resumed run and an uninterrupted one: the clocks
TIMES = ("wall_s", "s_per_step", "t_1pct")


def _cli(args, *, timeout=300):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "comparisons.heat", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _metrics(folder: Path) -> dict:
    js = json.loads((folder / "report.json").read_text())
    assert js["status"] == "complete"

    def strip(entry):
        return {k: v for k, v in entry.items() if not k.startswith(TIMES)}

    return {label: [strip(r) for r in m["per_seed"]] for label, m in js["methods"].items()}


def _status(folder: Path) -> str:
    return json.loads((folder / MARKER).read_text())["status"]


# -- the folder -----------------------------------------------------------------------------------


def test_a_non_empty_folder_is_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    t0 = time.perf_counter()
    with pytest.raises(SystemExit) as exc:
        heat.main([*FAST, "--out", str(tmp_path)])
    assert exc.value.code == 2 and time.perf_counter() - t0 < 5
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not empty (notes.txt): pass --resume" in err
    assert "Traceback" not in err and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_overwrite_removes_only_a_run_folder_of_this_toolkit(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit):
        heat.main([*FAST, "--out", str(tmp_path), "--overwrite"])
    assert "not a run folder of this toolkit" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").exists()
    run = tmp_path / "run"
    heat.main([*FAST, "--out", str(run), "--methods", "adjoint"])
    (run / "a_bilo.bp").mkdir()  # a file of another run's methods
    heat.main([*FAST, "--out", str(run), "--overwrite"])
    assert not (run / "a_bilo.bp").exists() and set(_metrics(run)) == {"bilo"}


@pytest.mark.parametrize(("out", "message"), [
    ("file", "exists and is not a folder"),
    ("file/sub", "cannot be written"),
])
def test_an_unusable_out_is_refused_up_front(tmp_path, capsys, out, message):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as exc:
        heat.main([*FAST, "--out", str(tmp_path / out)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err and err.count("\n") == 1


def test_a_failed_run_leaves_no_stale_report_and_says_so(tmp_path, monkeypatch):
    heat.main([*FAST, "--out", str(tmp_path)])
    assert _status(tmp_path) == "complete" and (tmp_path / "report.json").exists()

    def fail(*args, **kwargs):
        raise RuntimeError("the evaluation broke")

    monkeypatch.setattr("inverse.runner.evaluate", fail)
    with pytest.raises(RuntimeError):
        heat.main([*FAST, "--out", str(tmp_path), "--resume"])
    record = json.loads((tmp_path / MARKER).read_text())
    assert record["status"] == "failed" and "the evaluation broke" in record["error"]
    assert not (tmp_path / "report.json").exists() and not (tmp_path / "report.md").exists()
    assert not (tmp_path / "u0.png").exists()  # figures come with the report only


def test_the_folder_holds_every_method_and_seed_history(tmp_path):
    heat.main(["--preset", "smoke", "--quiet", "--methods", "bilo,pinn(w_dat=10)", "--seeds", "2",
               "--out", str(tmp_path)])
    with (tmp_path / "histories.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    runs = {(r["method"], r["seed"]) for r in rows}
    assert runs == {(m, s) for m in ("bilo", "pinn(w_dat=10)") for s in ("0", "1")}
    bilo = [r for r in rows if r["method"] == "bilo" and r["seed"] == "1"]
    assert {r["phase"] for r in bilo} == {"pretrain", "finetune"} and all(r["res"] for r in bilo)
    # the rows are the ones the fit logged: fine-tuning steps in order, at the logging interval
    steps = [int(r["step"]) for r in bilo if r["phase"] == "finetune"]
    assert steps == sorted(steps) and len(steps) >= 2


def test_python_api_creates_the_folder_and_refuses_a_file(tmp_path):
    assert RunFolder.open(tmp_path / "a" / "b", MPI.COMM_WORLD).path.is_dir()
    (tmp_path / "f").write_text("")
    with pytest.raises(ValueError, match="is not a folder"):
        RunFolder.open(tmp_path / "f", MPI.COMM_WORLD)


# -- resume ----------------------------------------------------------------------------------------


def test_kill_9_then_resume_gives_the_uninterrupted_report(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert _cli([*FAST, "--out", str(whole)]).returncode == 0
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "comparisons.heat", *FAST, "--out", str(cut),
                             "--checkpoint-every", "1"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fine = cut / "checkpoints" / "bilo" / "seed0" / "checkpoint.pt"
    deadline = time.monotonic() + 120
    while not fine.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert fine.exists(), "the run ended before fine-tuning wrote a checkpoint"
    assert _status(cut) == "running" and not (cut / "report.json").exists()
    again = _cli([*FAST, "--out", str(cut), "--checkpoint-every", "1", "--resume"])
    assert again.returncode == 0, again.stderr[-2000:]
    assert _status(cut) == "complete"
    assert _metrics(cut) == _metrics(whole)


def test_resume_refuses_the_checkpoint_of_other_data(tmp_path):
    assert _cli([*FAST, "--out", str(tmp_path), "--checkpoint-every", "50"]).returncode == 0
    proc = _cli([*FAST, "--out", str(tmp_path), "--resume", "--noise", "0.05"])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "written by another run (data differ)" in lines[0], proc.stderr
    assert _status(tmp_path) == "failed"


def test_debug_shows_the_traceback(tmp_path):
    (tmp_path / "x").write_text("")
    proc = _cli([*FAST, "--out", str(tmp_path), "--debug"])
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_under_two_ranks_a_user_error_is_one_line_once(mpirun, tmp_path):
    (tmp_path / "x").write_text("")
    proc = mpirun(2, ["-m", "comparisons.heat", *FAST, "--out", str(tmp_path)], check=False, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
    assert errors == [f"error: --out {tmp_path} is not empty (x): pass --resume to continue that run, "
                      "--overwrite to replace it, or another --out"], proc.stderr
    bad = mpirun(2, ["-m", "comparisons.heat", *FAST, "--seeds", "0"], check=False, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("error: argument --seeds") == 1, bad.stderr
