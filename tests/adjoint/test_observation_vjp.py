"""The vector-Jacobian product of the transient observation map y(m) = (B u(t_k; m))_k.

``observation_vjp(m, g)`` is the backward sweep of ``derivative`` with g_k in place of the
residuals B u(t_k) − d_k: with g = the residuals it is dJ/dm (no regulariser here), and with
g = ∂L/∂y it is the gradient of any loss L of the observations, so the Taylor remainder of a
non-quadratic L falls at rate 2. Tiny problems (16 cells, 10 steps): the file runs in seconds.
"""

from typing import Any

import numpy as np
import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

import ufl  # noqa: E402
from mpi4py import MPI  # noqa: E402

import adjoint  # noqa: E402
import fem  # noqa: E402

TIMES = [0.0, 0.25, 0.47, 1.0]  # 0.47: between two steps (dt = 0.1)


def _observation(md: fem.MeshData, degree: int) -> Any:
    import dolfinx

    V = dolfinx.fem.functionspace(md.mesh, ("Lagrange", degree))
    points = np.linspace(0.0, 1.0, 5)[:, None]
    return fem.PointEvaluator(V, points if md.comm.rank == 0 else points[:0]).matrix()


def _fisher_kpp() -> tuple[adjoint.TransientReducedFunctional, np.ndarray]:
    """u_t = rD·0.01·u_xx + rρ·u(1 − u), P1 on 16 cells, 10 steps, θ = (rD, rρ) at (1, 1)."""
    md = fem.interval(MPI.COMM_WORLD, 16)

    def G(u: Any, th: Any, v: Any, t: Any) -> Any:
        return (th["rD"] * 0.01 * ufl.inner(ufl.grad(u), ufl.grad(v)) - th["rrho"] * u * (1 - u) * v) * ufl.dx

    B = _observation(md, 1)
    rows = B.getLocalSize()[0]
    data = 0.3 + 0.01 * np.cos(np.arange(len(TIMES) * rows)).reshape(len(TIMES), rows)
    rf = adjoint.TransientReducedFunctional(
        md, residual=G, control="scalars", scalars={"rD": 1.0, "rrho": 1.0},
        u0=lambda x: 0.5 * np.sin(np.pi * x[0]) ** 2, t_end=1.0, n_steps=10, observation=B,
        observation_times=TIMES, data=data, degree=1)
    return rf, rf.as_array(np.array([1.0, 1.0]))


def _heat_ic() -> tuple[adjoint.TransientReducedFunctional, np.ndarray]:
    """u_t = 0.05·u_xx, P1 on 16 cells, 10 steps, the initial condition as the control (no regulariser)."""
    md = fem.interval(MPI.COMM_WORLD, 16)
    B = _observation(md, 1)
    rf = adjoint.TransientReducedFunctional(
        md, residual=lambda u, th, v, t: th["k"] * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx,
        control="initial_condition", scalars={"k": 0.05}, t_end=0.5, n_steps=10, observation=B,
        observation_times=[0.0, 0.27, 0.5], data=np.full((3, B.getLocalSize()[0]), 0.1), degree=1)
    return rf, rf.initial_from(lambda x: np.sin(np.pi * x[0]))


def _residuals(rf: adjoint.TransientReducedFunctional, m: np.ndarray) -> np.ndarray:
    return rf.observe(m) - np.array([d.array_r for d in rf._d])


@pytest.mark.parametrize("case", [_fisher_kpp, _heat_ic], ids=["scalars", "initial_condition"])
def test_vjp_of_the_residuals_is_the_derivative(case):
    rf, m = case()
    dJ = rf.derivative(m).array_r.copy()
    vjp = rf.observation_vjp(m, _residuals(rf, m))
    assert vjp.getSizes() == rf.derivative(m).getSizes()
    np.testing.assert_allclose(vjp.array_r, dJ, rtol=1e-10, atol=1e-14 * np.abs(dJ).max())
    assert np.all(vjp.array_r[rf.fixed_dofs] == 0.0)
    # another cotangent leaves the cached derivative alone, and is not cached itself
    n = rf.n_adjoint
    other = rf.observation_vjp(m, np.ones_like(_residuals(rf, m)))
    assert not np.allclose(other.array_r, dJ)
    np.testing.assert_array_equal(rf.derivative(m).array_r, dJ)
    assert rf.n_adjoint == n + 1  # the vjp's sweep; derivative came from its cache


def test_taylor_rate_two_for_a_non_quadratic_loss_of_the_observations():
    rf, m = _fisher_kpp()

    def sigmoid(y: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-20.0 * (y - 0.3)))

    def loss(p: np.ndarray) -> float:
        return float(rf.comm.allreduce(np.sum(sigmoid(rf.observe(p)) ** 2), op=MPI.SUM))

    s = sigmoid(rf.observe(m))
    grad = rf.observation_vjp(m, 40.0 * s**2 * (1.0 - s))  # ∂/∂y σ(20(y − 0.3))² = 40 σ²(1 − σ)
    dm = rf.as_array(np.array([0.3, -0.7]))
    L0, slope = loss(m), rf.inner(grad, dm)
    assert abs(slope) > 1e-3  # a non-trivial direction
    hs = 1e-2 * 0.5 ** np.arange(4)
    remainders = np.array([abs(loss(m + h * dm) - L0 - h * slope) for h in hs])
    rates = np.log2(remainders[:-1] / remainders[1:])
    assert rates.min() > 1.8, (remainders, rates)


def test_bad_cotangent_is_named():
    rf, m = _fisher_kpp()
    y = rf.observe(m)
    with pytest.raises(ValueError, match=r"g has shape \(3, 5\).*expected \(4, 5\)"):
        rf.observation_vjp(m, y[:-1])
    bad = y.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="g has non-finite values"):
        rf.observation_vjp(m, bad)
