"""The discrete adjoint of the BDF2 time stepping: Taylor tests, recovery, errors, two ranks.

A correct derivative makes the Taylor remainder |J(m + εδm) − J(m) − ε⟨dJ, δm⟩| fall at rate 2
as ε halves; the zero-derivative control falls at rate 1. Remainders that reach round-off are
left out of the rates (``TaylorResult.usable_rates``), so a test never averages noise.
"""

import json

import numpy as np
import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

import transient_cases  # noqa: E402
from mpi4py import MPI  # noqa: E402

import adjoint  # noqa: E402

CASES = ("fisher_kpp", "heat_ic")


@pytest.mark.parametrize("case", CASES)
def test_taylor_rate_two_and_control_rate_one(case):
    rf, m = getattr(transient_cases, case)(MPI.COMM_WORLD)
    s = transient_cases.summary(rf, m)
    assert s["failure"] is None, s
    assert s["control_failure"] is None, s  # dJ = 0: rate 1, so the slope is not negligible
    assert len(s["rates"]) == 3 and min(s["rates"]) > 1.9


def test_scalar_derivative_matches_central_differences():
    # an independent check of the value, not only the rate: h = 1e-5 gives O(h²) ≈ 1e-10 errors
    rf, m = transient_cases.fisher_kpp(MPI.COMM_WORLD)
    dJ = rf.derivative(m).array_r
    h = 1e-5
    fd = [(rf.J(m + h * e) - rf.J(m - h * e)) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(dJ, fd, rtol=1e-6)
    assert rf.n_adjoint == 1 and rf.n_forward == 5  # m, then four perturbed points
    assert rf.n_newton >= 5 * 20  # at least one Newton step per time step and forward solve


def test_initial_condition_gradient_is_the_riesz_representative():
    rf, m = transient_cases.heat_ic(MPI.COMM_WORLD)
    dJ, g = rf.derivative(m), rf.gradient(m)
    M = rf.M
    Mg = M.createVecLeft()
    M.mult(g, Mg)
    # M g = dJ away from the Dirichlet dofs, where u⁰ = 0 whatever m says (g = dJ = 0 there)
    free = np.setdiff1d(np.arange(len(dJ.array_r)), rf.fixed_dofs)
    np.testing.assert_allclose(Mg.array_r[free], dJ.array_r[free], atol=1e-12 * np.abs(dJ.array_r).max())
    assert np.all(dJ.array_r[rf.fixed_dofs] == 0.0) and np.all(g.array_r[rf.fixed_dofs] == 0.0)


def test_round_off_is_flagged_not_averaged():
    rf, m = transient_cases.heat_ic(MPI.COMM_WORLD)
    # ε from 1e-9: J ≈ 4e-3, so every remainder (≈ 1e-18 and below) is round-off
    result = adjoint.taylor_check(rf.J, rf.derivative, m, transient_cases.directions(rf), eps0=1e-9,
                                  comm=rf.comm)
    assert result.round_off.all()
    assert result.usable_rates.size == 0
    assert "above round-off" in result.check()


@pytest.mark.parametrize("tao_type", ["blmvm", "bnls"])
def test_tao_recovers_the_scalars_from_noise_free_data(tao_type):
    # BLMVM (L-BFGS), and a Newton line search on Hessian-vector products from adjoint differences
    r = transient_cases.tao_recovery(MPI.COMM_WORLD, tao_type)
    assert r["converged"], r["reason"]
    np.testing.assert_allclose(r["theta"], [1.7, 2.3], rtol=1e-6)
    assert r["n_history"] == r["n_J"] and r["t_last"] <= r["wall"]


def test_bad_input_is_named():
    rf, _ = transient_cases.fisher_kpp(MPI.COMM_WORLD)
    kwargs = dict(residual=rf.residual, scalars={"rD": 1.0, "rrho": 1.0}, t_end=1.0, n_steps=20,
                  observation=rf.B, degree=2)
    rows = rf.B.getLocalSize()[0]
    with pytest.raises(ValueError, match="control must be"):
        adjoint.TransientReducedFunctional(rf.mesh_data, control="field", observation_times=[1.0],
                                           data=np.zeros((1, rows)), **kwargs)
    with pytest.raises(ValueError, match=r"observation times must be a 1D array in \[0, 1\]"):
        adjoint.TransientReducedFunctional(rf.mesh_data, control="scalars", observation_times=[1.5],
                                           data=np.zeros((1, rows)), **kwargs)
    with pytest.raises(ValueError, match=r"data has shape \(2, 7\).*expected \(1, 7\)"):
        adjoint.TransientReducedFunctional(rf.mesh_data, control="scalars", observation_times=[1.0],
                                           data=np.zeros((2, rows)), **kwargs)
    with pytest.raises(ValueError, match="non-finite"):
        rf.J(np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match=r"expected \(2,\), the scalars \('rD', 'rrho'\)"):
        rf.J(np.array([1.0, 1.0, 1.0]))


@pytest.mark.mpi
def test_two_ranks_match_serial(mpirun):
    proc = mpirun(2, ["tests/adjoint/transient_mpi_checks.py"], timeout=300)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    parallel = json.loads(line[len("RESULT "):])
    for case in CASES:
        serial = transient_cases.summary(*getattr(transient_cases, case)(MPI.COMM_WORLD))
        p = parallel[case]
        assert p["failure"] is None and p["control_failure"] is None, p
        assert min(p["rates"]) > 1.9, p
        assert p["J"] == pytest.approx(serial["J"], rel=1e-10)
        assert p["slope"] == pytest.approx(serial["slope"], rel=1e-8)
    for tao_type in ("blmvm", "bnls"):
        p = parallel[tao_type]
        assert p["converged"], p
        np.testing.assert_allclose(p["theta"], [1.7, 2.3], rtol=1e-6)
