import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_find_python_returns_a_working_312():
    out = subprocess.run(["bash", str(ROOT / "scripts/find-python.sh")], capture_output=True, text=True,
                         check=True)
    exe = out.stdout.strip()
    ver = subprocess.run([exe, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                         capture_output=True, text=True, check=True)
    assert ver.stdout.strip() == "True"


def test_find_python_reports_when_nothing_fits(tmp_path):
    # A PATH with only a fake python3 that is too old, no pyenv: a clear error, exit 1.
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(["bash", str(ROOT / "scripts/find-python.sh")], capture_output=True, text=True,
                          env=env)
    if proc.returncode == 0:  # the machine has a system python3.12+ in /usr/bin
        assert sys.version_info >= (3, 12)
    else:
        assert "no Python >= 3.12 found" in proc.stderr
