"""Static checks of the container recipes (no engine needed, well under a second).

`make container-test` builds and runs the image for real; these only guard the recipes' shape.
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CF = ROOT / "containers" / "Containerfile"
CF_DOLFINX = ROOT / "containers" / "Containerfile.dolfinx"
DEF = ROOT / "containers" / "bilo.def"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    out, cur = [], ""
    for line in path.read_text().splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        cur += line.rstrip("\\").rstrip() + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            word, _, rest = cur.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
            cur = ""
    return out


@pytest.mark.parametrize("path", [CF, CF_DOLFINX], ids=["Containerfile", "Containerfile.dolfinx"])
def test_recipe_is_plain_dockerfile_syntax(path):
    text = path.read_text()
    assert "<<" not in text, "no RUN heredocs (buildah 1.28)"
    assert "--mount=" not in text and not re.search(r"^#\s*syntax=", text, re.M), "no BuildKit-only syntax"
    ins = instructions(path)
    known = {"FROM", "RUN", "COPY", "ENV", "ARG", "LABEL", "USER", "WORKDIR", "VOLUME", "CMD"}
    assert {w for w, _ in ins} <= known
    labels = " ".join(a for w, a in ins if w == "LABEL")
    for key in ("version", "revision", "source", "title", "description", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels
    assert re.search(r'image\.version="\$\{VERSION\}"', labels)
    assert re.search(r'image\.revision="\$\{REVISION\}"', labels)
    users = [a for w, a in ins if w == "USER"]
    assert users and users[-1] not in ("root", "0")
    env = " ".join(a for w, a in ins if w == "ENV")
    for kv in ("OMP_NUM_THREADS=1", "PYTHONUNBUFFERED=1", "MPLBACKEND=Agg"):
        assert kv in env
    assert ("VOLUME", "/out") in ins
    cmd = json.loads(next(a for w, a in ins if w == "CMD"))
    assert cmd[:3] == ["mpirun", "-n", "2"] and "comparisons.darcy" in cmd
    assert cmd[cmd.index("--out") + 1] == "/out" and cmd[cmd.index("--preset") + 1] == "smoke"


def test_containerfile_layers():
    ins = instructions(CF)
    assert ins[0] == ("FROM", "python:3.12-slim")
    apt = next(a for w, a in ins if w == "RUN" and "apt-get install" in a)
    for pkg in ("gcc", "libc6-dev", "libglu1-mesa", "libgl1", "libxcursor1", "libxft2", "libxinerama1"):
        assert re.search(rf"(^|\s){re.escape(pkg)}(\s|$)", apt), pkg
    assert "rm -rf /var/lib/apt/lists/*" in apt
    copies = [(i, a) for i, (w, a) in enumerate(ins) if w == "COPY"]
    lock = next(i for i, a in copies if a.startswith("requirements.lock "))
    tree = next(i for i, a in copies if a.startswith(". "))
    lock_install = next(i for i, (w, a) in enumerate(ins)
                        if w == "RUN" and "-r /opt/bilo/requirements.lock" in a)
    assert lock < lock_install < tree, "the locked install is cached apart from the project copy"
    proj = next(a for w, a in ins if w == "RUN" and "--no-deps" in a)
    assert "--no-cache-dir" in proj and " -e " not in proj
    # Labels come after every RUN: a new VERSION/REVISION keeps the heavy layers cached.
    last_run = max(i for i, (w, _) in enumerate(ins) if w == "RUN")
    assert all(i > last_run for i, (w, _) in enumerate(ins) if w in ("ARG", "LABEL"))


def test_dolfinx_recipe_filters_the_lock():
    ins = instructions(CF_DOLFINX)
    assert ins[0] == ("FROM", "ghcr.io/fenics/dolfinx/dolfinx:v0.11.0")
    run = next(a for w, a in ins if w == "RUN" and "grep -v" in a)
    pattern = re.search(r"grep -v -i -E '([^']+)'", run).group(1)
    lock = (ROOT / "requirements.lock").read_text()
    lines = [ln for ln in lock.splitlines() if ln and not ln.startswith("#")]
    kept = [ln for ln in lines if not re.search(pattern, ln, re.I)]
    names = {ln.split("==")[0].lower() for ln in kept}
    assert "torch" in names and "numpy" in names
    assert not names & {"dolfinx-solver-real", "mpich", "mpi4py", "fenics-basix", "fenics-ffcx", "fenics-ufl"}
    assert "UNTESTED" in CF_DOLFINX.read_text()


def test_apptainer_definition():
    text = DEF.read_text()
    assert re.search(r"^Bootstrap:\s*(docker-daemon|docker-archive|oci-archive)\s*$", text, re.M)
    assert re.search(r"^From:\s*bilo:latest\s*$", text, re.M)
    for section in ("%runscript", "%help", "%environment"):
        assert re.search(rf"^{section}\s*$", text, re.M)
    assert "UNTESTED" in text


def test_ignore_file_and_package_data():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored and "results" in ignored
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'comparisons\s*=\s*\[\s*"meshes/\*"', pyproject), \
        "meshes ship with a non-editable install"


def test_make_target_is_separate_from_test():
    mk = (ROOT / "Makefile").read_text()
    assert re.search(r"^container-test:.*\n\t@?bash scripts/container-test\.sh", mk, re.M)
    test_line = re.search(r"^test:(.*)$", mk, re.M).group(1)
    assert "container" not in test_line


def _compare_module():
    spec = importlib.util.spec_from_file_location("compare_reports",
                                                  ROOT / "containers" / "compare_reports.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _report(bilo=0.5, adjoint=0.3, methods=("bilo", "adjoint")):
    vals = {"bilo": bilo, "adjoint": adjoint}
    return {"problem": "darcy", "preset": "smoke", "noise": 0.0, "seeds": 1, "ranks": 2, "device": "cpu",
            "methods": {m: {"steps": 60, "metrics": {"field_rel_l2": {"mean": vals[m], "std": 0.0, "n": 1}}}
                        for m in methods}}


def test_compare_reports_tolerances():
    cmp = _compare_module().compare
    assert cmp(_report(), _report(), 1e-6, 1e-3, 1e-12)[0] == []
    assert cmp(_report(), _report(bilo=0.5 * (1 + 1e-4)), 1e-6, 1e-3, 1e-12)[0] == []
    assert cmp(_report(), _report(bilo=0.5 * (1 + 1e-2)), 1e-6, 1e-3, 1e-12)[0]
    assert cmp(_report(), _report(adjoint=0.3 * (1 + 1e-5)), 1e-6, 1e-3, 1e-12)[0]
    assert cmp(_report(), _report(methods=("bilo",)), 1e-6, 1e-3, 1e-12)[0]
    other = _report()
    other["ranks"] = 1
    assert cmp(_report(), other, 1e-6, 1e-3, 1e-12)[0]
