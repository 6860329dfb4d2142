#!/usr/bin/env bash
# Create or update the project's virtual environment: find Python >= 3.12, make the venv,
# install requirements.lock exactly, install the project editable. Skips all of it when the
# venv's stamp matches the current lock and pyproject (so `make test` twice costs nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
stamp="$VENV/.bilo-stamp"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] \
   && "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
  exit 0
fi
py=$(scripts/find-python.sh)
echo "[venv] using $py ($("$py" -V 2>&1)) -> $VENV"
if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
  rm -rf "$VENV"
  "$py" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade 'pip>=24' 
echo "[venv] installing requirements.lock (torch is a large download on first install, ~1 min)"
"$VENV/bin/python" -m pip install -q --progress-bar off -r requirements.lock
# PYTHONWARNINGS: setuptools prints a long, harmless banner about editable installs.
PYTHONWARNINGS=ignore "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
"$VENV/bin/python" -c 'import fem, hybrid, dolfinx, torch; print("[venv] ok: dolfinx", dolfinx.__version__, "torch", torch.__version__)'
echo "$want" > "$stamp"
