#!/usr/bin/env bash
# Print the path of a Python >= 3.12 that actually runs (DOLFINx wheels need 3.12+).
# pyenv shims exist on PATH even for versions that are not selected and then exit 127,
# so every candidate is *run*, not just looked up with `command -v`.
set -u
ok() { "$@" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
resolve() { "$@" -c 'import sys; print(sys.executable)' 2>/dev/null; }
cands=()
[ -n "${PYTHON:-}" ] && cands+=("$PYTHON")
cands+=(python3.13 python3.12 python3)
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for p in "$root"/versions/3.1[2-9]*/bin/python3 "$root"/versions/3.[2-9][0-9]*/bin/python3; do
    [ -x "$p" ] && cands+=("$p")
  done
fi
cands+=(/usr/local/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.13 /usr/bin/python3.13)
for c in "${cands[@]}"; do
  if ok "$c"; then resolve "$c"; exit 0; fi
done
# A pyenv shim answers once its version is selected explicitly.
for v in 3.13 3.12; do
  if PYENV_VERSION=$(pyenv versions --bare 2>/dev/null | grep "^$v" | tail -n1) ok "python$v"; then
    PYENV_VERSION=$(pyenv versions --bare | grep "^$v" | tail -n1) resolve "python$v"; exit 0
  fi
done
echo "error: no Python >= 3.12 found (tried: ${cands[*]}); set PYTHON=/path/to/python3.12" >&2
exit 1
