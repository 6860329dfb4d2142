# Entry points. Every target does its own set-up through `make venv` (skipped when current).
VENV ?= .venv
PY := $(VENV)/bin/python
MPIRUN := $(VENV)/bin/mpirun
export VENV

.PHONY: venv test test-fast demo forward-demo bench lock clean

venv:
	@bash scripts/bootstrap.sh

# The whole suite, serial and MPI (MPI tests launch `mpirun -n 2` themselves).
test: venv
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
	rm -rf results .pytest_cache

# Build containers/Containerfile, run the Darcy smoke comparison in the image and in the venv, compare
# the reports (scripts/container-test.sh; not part of `make test`: a cold build downloads ~3 GB).
.PHONY: container-test
container-test:
	@bash scripts/container-test.sh
