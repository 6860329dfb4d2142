r"""The 1D Poisson experiment with a variable diffusion D(x), set up for the adjoint baseline.

(D u')' = f on (0, 1), u(0) = u(1) = 0, f = −π² sin(πx), i.e. −(D u')' = π² sin(πx);
truth D(x) = 1 + 0.5(1 − 2|x − 0.5|), initial guess D ≡ 1, D(0) = D(1) = 1 kept fixed;
P1 state and nodal P1 coefficient on a uniform mesh; 51 equispaced observations;
J(D) = ½ Σ_i (u(x_i) − d_i)² + (w/2)∫ |D'|² (paper §B.2.1, experiment 3 of the spec).
"""

from __future__ import annotations

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

from dataclasses import dataclass

import dolfinx
import numpy as np
import ufl
from mpi4py import MPI

from adjoint.gradient import ReducedFunctional
from adjoint.observation import point_observation
from adjoint.problem import FixedCoefficient, SolverConfig
from adjoint.regularization import AbstractRegularization, H1Seminorm


def hat_diffusion(x: np.ndarray) -> np.ndarray:
    """D_true(x) = 1 + 0.5(1 − 2|x − 0.5|) for x of shape (3, N) (or (N,))."""
    x0 = x[0] if np.ndim(x) == 2 else x
    return 1.0 + 0.5 * (1.0 - 2.0 * np.abs(x0 - 0.5))


@dataclass(frozen=True, kw_only=True)
class VariablePoisson1D:
    """The assembled 1D problem.

    Attributes:
        rf: the reduced functional (P1 coefficient D, ends fixed).
        m_true: owned nodal values of D_true.
        m_init: owned nodal values of the initial guess D ≡ 1.
        points: the global observation points, shape (n_obs,).
        indices: the global indices of this rank's observations.
        data: the global data, shape (n_obs,).
    """

    rf: ReducedFunctional
    m_true: np.ndarray
    m_init: np.ndarray
    points: np.ndarray
    indices: np.ndarray
    data: np.ndarray


def variable_poisson_1d(
    *,
    n_cells: int = 100,
    n_obs: int = 51,
    weight: float = 1e-3,
    regularization: tuple[AbstractRegularization, ...] | None = None,
    noise_std: float = 0.0,
    seed: int = 0,
    data: np.ndarray | None = None,
    comm: MPI.Comm = MPI.COMM_WORLD,
    solver: SolverConfig | None = None,
) -> VariablePoisson1D:
    """Build the 1D variable-diffusion Poisson inverse problem.

    Args:
        n_cells: cells of the uniform mesh of (0, 1).
        n_obs: equispaced observation points in [0, 1] (endpoints included).
        weight: H1-seminorm weight w (ignored when ``regularization`` is given).
        regularization: regularisers replacing ``(H1Seminorm(weight=weight),)``.
        noise_std: standard deviation σ of Gaussian noise added to synthetic data.
        seed: seed of the noise.
        data: global data at the points (e.g. from an FDM reference); default: the FE
            solution at D_true plus noise.
        comm: the communicator.
        solver: PETSc options; default a direct solve (prefix ``poisson1d_state_``).

    Returns:
        The problem; optimise with ``minimize_tao(p.rf, p.m_init, ...)`` or
        ``gradient_descent(p.rf, p.m_init, ...)``.
    """
    msh = dolfinx.mesh.create_unit_interval(comm, n_cells)
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    points = np.linspace(0.0, 1.0, n_obs)
    B, indices = point_observation(V, points[:, None])
    regs = regularization if regularization is not None else (H1Seminorm(weight=weight),)
    solver = solver if solver is not None else SolverConfig(prefix="poisson1d_state_")

    def source(x: ufl.SpatialCoordinate) -> ufl.core.expr.Expr:
        return np.pi**2 * ufl.sin(np.pi * x[0])

    common = dict(observation=B, coefficient_space="P1", source=source,
                  fixed_coefficient=FixedCoefficient(), solver=solver)
    if data is None:
        clean = ReducedFunctional(msh, data=np.zeros(len(indices)), **common)
        local = clean.observe(clean.parameter_from_coefficient(hat_diffusion))
        full = np.zeros(n_obs)
        full[indices] = local
        full = comm.allreduce(full, op=MPI.SUM)
        data = full + noise_std * np.random.default_rng(seed).standard_normal(n_obs)
    data = np.asarray(data, dtype=float)
    if data.shape != (n_obs,):
        raise ValueError(f"data must have shape ({n_obs},), got {data.shape}")
    rf = ReducedFunctional(msh, data=data[indices], regularization=regs, **common)
    return VariablePoisson1D(rf=rf, m_true=rf.parameter_from_coefficient(hat_diffusion),
                             m_init=rf.parameter_from_coefficient(1.0), points=points,
                             indices=indices, data=data)
