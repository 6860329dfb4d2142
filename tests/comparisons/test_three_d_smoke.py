"""A 3D smoke path: nothing in the pipeline assumes 2D.

On a small tetrahedral mesh of the unit cube: the FEM reference (fem.solve_elliptic), the PETSc
adjoint (TAO on a DG0 coefficient, observations at the nodes through fem.PointEvaluator), a
short BiLO training of −k Δu = 1 (k unknown, u = 0 imposed exactly by a product factor), and one
where u = 0 comes only from a boundary loss at the boundary nodes.
"""

import math
from dataclasses import dataclass

import numpy as np
import pytest

fem = pytest.importorskip("fem")
torch = pytest.importorskip("torch")
import dolfinx  # noqa: E402
from mpi4py import MPI  # noqa: E402

import adjoint  # noqa: E402
from hybrid import AbstractPDE, BiLO, BiLOConfig, BiLOFinetuneConfig, NetworkConfig, PretrainConfig  # noqa: E402

K_TRUE, K_INIT = 2.0, 1.0


def _laplacian(u, x):
    """Δu at points x (n, 3) by nested autograd."""
    (du,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    lap = 0.0
    for i in range(3):
        (d2,) = torch.autograd.grad(du[:, i].sum(), x, create_graph=True)
        lap = lap + d2[:, i]
    return lap


@dataclass(frozen=True, kw_only=True, eq=False)
class Poisson3D(AbstractPDE):
    """−k Δu = 1 on the unit cube, u = x(1−x)y(1−y)z(1−z)·N."""

    param_names: tuple[str, ...] = ("k",)
    input_dim: int = 3

    def output_transform(self, x, N, theta):
        return torch.prod(x * (1 - x), dim=1) * N

    def residual(self, x, u, theta):
        return -theta[:, 0] * _laplacian(u, x) - 1.0


@dataclass(frozen=True, kw_only=True, eq=False)
class SinePoisson3D(AbstractPDE):
    """−k Δu = 6π² sin(πx) sin(πy) sin(πz) on the unit cube, u = N (nothing imposes u = 0).

    With u = 0 on the boundary, u = (2/k)·sin(πx) sin(πy) sin(πz). Unlike f = 1, this source is
    compatible with u = 0 on the edges and corners (there u = 0 on two faces forces Δu = 0), so
    the solution is smooth up to the boundary.
    """

    param_names: tuple[str, ...] = ("k",)
    input_dim: int = 3

    def output_transform(self, x, N, theta):
        return N

    def residual(self, x, u, theta):
        return -theta[:, 0] * _laplacian(u, x) - 6 * math.pi ** 2 * torch.prod(torch.sin(math.pi * x), dim=1)


@pytest.fixture(scope="module")
def cube():
    md = fem.box(MPI.COMM_WORLD, (4, 4, 4))
    V = dolfinx.fem.functionspace(md.mesh, ("Lagrange", 1))
    x = fem.dof_coordinates(V)
    n = V.dofmap.index_map.size_local

    def solve(k):
        return fem.solve_elliptic(md, a=k, f=1.0).u.x.array[:n].copy()

    return md, V, x, solve


def test_fem_reference_in_3d(cube):
    md, V, x, solve = cube
    assert md.mesh.topology.dim == 3 and x.shape[1] == 3
    u1, u2 = solve(1.0), solve(2.0)
    # −kΔu = 1 is linear in 1/k: doubling k halves u
    np.testing.assert_allclose(u2, u1 / 2, rtol=1e-8, atol=1e-12)
    assert u1.max() > 0


def test_adjoint_in_3d(cube):
    md, V, x, solve = cube
    B = fem.PointEvaluator(V, x).matrix()
    rf = adjoint.ReducedFunctional(md.mesh, observation=B, data=solve(K_TRUE), coefficient_space="DG0",
                                   regularization=(adjoint.H1Seminorm(weight=1e-10),))
    m0 = rf.parameter_from_coefficient(K_INIT)
    res = adjoint.minimize_tao(rf, m0, adjoint.TaoConfig(max_iter=50, lower=0.1, upper=10.0))
    assert res.J < 1e-3 * res.J_history[0]
    assert res.n_forward > 0 and res.n_adjoint > 0


def test_bilo_trains_in_3d(cube):
    md, V, x, solve = cube
    cfg = BiLOConfig(network=NetworkConfig(depth=3, width=32), pretrain=PretrainConfig(steps=500),
                     finetune=BiLOFinetuneConfig(steps=300, lr_theta=1e-2), log_every=50)
    res = BiLO(cfg).fit(Poisson3D(), x_res=x, x_dat=x, u_dat=solve(K_TRUE), theta_init={"k": K_INIT},
                        u_ref=solve(K_INIT), device="cpu", dtype="float64", progress=False)
    k = res.theta["k"]
    # 500 + 300 steps reach k = 1.97 here; 5 % leaves room for other BLAS builds. (With only 100
    # pre-training steps the network's sensitivity du/dk is still wrong and k walks away.)
    assert abs(k - K_TRUE) < 0.05 * K_TRUE
    assert np.all(np.isfinite(res.predict(x)))


def test_bilo_trains_in_3d_with_boundary_loss(cube):
    md, V, x, _ = cube
    facets = fem.locate_boundary_facets(md)
    boundary = dolfinx.fem.locate_dofs_topological(V, md.mesh.topology.dim - 1, facets)
    boundary = boundary[boundary < x.shape[0]]                     # owned dofs only
    x_bc = x[boundary]
    assert len(x_bc) == 98 and np.all(np.any(np.isclose(x_bc, 0) | np.isclose(x_bc, 1), axis=1))

    def solution(k):
        return (2 / k) * np.prod(np.sin(np.pi * x), axis=1)

    # Why not −kΔu = 1 of the test above, with an identity transform? Its solution is not C² at
    # the cube's edges (u = 0 on two faces forces Δu = 0 there), and the small network settled
    # with boundary values as large as u itself (L_bc stalled at 5e-4 for any w_bc, lr or depth
    # tried). Why analytic data? The 4×4×4 P1 solution of this source is 21 % off at the nodes.
    # w_bc = 100: the residual is ~3π² times u, so L_bc needs a weight of that order.
    cfg = BiLOConfig(network=NetworkConfig(depth=3, width=32), pretrain=PretrainConfig(steps=1000, lr=3e-3),
                     finetune=BiLOFinetuneConfig(steps=600, lr_W=3e-3, lr_theta=1e-2), log_every=100,
                     w_bc=100.0)
    res = BiLO(cfg).fit(SinePoisson3D(), x_res=x, x_dat=x, u_dat=solution(K_TRUE), theta_init={"k": K_INIT},
                        x_bc=x_bc, u_bc=np.zeros(len(x_bc)), device="cpu", dtype="float64", progress=False)
    k = res.theta["k"]
    boundary_error = np.abs(res.predict(x_bc)).max()
    # Measured (seeds 0, 1, 2): k = 1.977, 1.950, 1.989 and max |u| at the boundary nodes 0.078,
    # 0.120, 0.083 (max u = 1); without x_bc the same fit ends at k = 3.19 with boundary values up
    # to 2.4. The bounds leave 3x margin.
    assert abs(k - K_TRUE) < 0.15
    assert boundary_error < 0.4
    assert np.all(np.isfinite(res.predict(x)))
