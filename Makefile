# Entry points. Every target does its own set-up through `make venv` (skipped when current).
VENV ?= .venv
PY := $(VENV)/bin/python
MPIRUN := $(VENV)/bin/mpirun
export VENV

.PHONY: venv lint test test-fast demo forward-demo bench lock clean

venv:
	@bash scripts/bootstrap.sh

# What ruff and mypy check: these packages, those of them that exist.
LINT_PATHS := $(wildcard fem hybrid adjoint inverse comparisons bench tests examples)

# ruff (rules in pyproject.toml), then mypy: strict on fem, hybrid, adjoint and inverse, lax on the
# comparisons, the benchmarks and the tests (pyproject.toml says why). Both run even if the first
# fails. mypy caches in .mypy_cache: ~1 min from scratch on 2 cores, seconds after that.
lint: venv
	@status=0; \
	echo "$(VENV)/bin/ruff check $(LINT_PATHS)"; $(VENV)/bin/ruff check $(LINT_PATHS) || status=1; \
	echo "$(VENV)/bin/mypy $(LINT_PATHS)"; $(VENV)/bin/mypy $(LINT_PATHS) || status=1; \
	exit $$status

# Lint, then the whole suite, serial and MPI (MPI tests launch `mpirun -n 2` themselves).
test: venv lint
	$(PY) -m pytest -q

# Skip the tests marked slow.
test-fast: venv
	$(PY) -m pytest -q -m "not slow"

# The main job: the Darcy comparison (BiLO, PINN, adjoint) on 2 MPI ranks, < 10 min on 2 cores.
demo: venv
	$(MPIRUN) -n 2 $(PY) -m comparisons.darcy --preset demo --out results/demo

# The FEM forward demo (unit square and a gmsh domain with a hole; XDMF/VTX/PNG).
forward-demo: venv
	$(MPIRUN) -n 2 $(PY) -m comparisons.forward_demo --out results/forward-demo

bench: venv
	$(PY) -m bench

# Re-resolve requirements.in into requirements.lock in a scratch venv.
lock:
	rm -rf /tmp/bilo-lock && "$$(scripts/find-python.sh)" -m venv /tmp/bilo-lock
	/tmp/bilo-lock/bin/pip install -q -r requirements.in
	{ head -n2 requirements.lock; /tmp/bilo-lock/bin/pip freeze | grep -v '^pip=='; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf results .pytest_cache .mypy_cache .ruff_cache

# Build containers/Containerfile, run the Darcy smoke comparison in the image and in the venv, compare
# the reports (scripts/container-test.sh; not part of `make test`: a cold build downloads ~3 GB).
.PHONY: container-test
container-test:
	@bash scripts/container-test.sh
