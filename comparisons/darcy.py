# # Darcy flow: infer a piecewise-constant permeability from the pressure field
#
# This comparison shows:
# - BiLO, PINNs and a PETSc adjoint (TAO bound-constrained L-BFGS) recovering a
#   two-valued coefficient from the FEM solution at the mesh nodes, on the same data;
# - `adjoint_nn`: BiLO's own f_V network and optimiser driven by exact adjoint gradients, which
#   tells the error of BiLO's approximate gradient apart from what the network and step budget
#   can reach; BiLO's runs also record how well their gradient agrees with the adjoint's;
# - the relative L2 error of the inferred coefficient (quadrature on the mesh), the
#   classification accuracy after thresholding at 7.5, the network's error against a FEM
#   solve at its own inferred coefficient, the data misfit and the cost;
# - MPI end to end: the mesh is distributed, FEM solves and the adjoint run through PETSc,
#   and the networks train data-parallel (each rank holds the points of its own cells).
#
# The problem (paper §3.6; the PINO Darcy set-up; project choices in
# `shared/specs/paper-experiments.md` §7):
#
# $$ -\nabla\cdot(a(x)\nabla u) = 1 \text{ in } \Omega, \qquad u = 0 \text{ on } \Gamma_D, $$
#
# with $\Omega = (0,1)^2$ on a 50×50 P1 mesh unless `--mesh` is given. The truth is
# $a^\dagger = 12$ where $\psi > 0$ and $3$ elsewhere, for a Gaussian random field $\psi$
# (squared-exponential covariance, σ = 1, ℓ = 0.1); the initial guess is
# $a_0 = 9\,\mathrm{sigmoid}(\psi_0) + 3$ for an independent $\psi_0$. Data: $u$ at every
# mesh node (noise optional).
#
# BiLO represents the unknown as $f_V = 9\,\mathrm{sigmoid}(\mathrm{MLP}_V) + 3$ and the
# solution as $u(x, z; W)$ with the auxiliary variable $z = f_V(x)$ embedded (paper eqs.
# 13–15); its lower level minimises residual + 0.1·residual-gradient, its upper level
# data + w_TV·TV. The output transform $u = \varphi(x)\,N$ imposes $u = 0$ exactly, with
# $\varphi = x(1-x)y(1-y)$ on the unit square and a smooth approximate distance function
# to the tagged boundary facets on any other mesh.
#
# Run `python -m comparisons.darcy --help`.

# +
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from mpi4py import MPI

import fem
from comparisons import cli
from comparisons.report import Report
from fem.parallel import print0, run_collectively

import dolfinx  # noqa: E402  (after fem, which loads MPI first)
import dolfinx.io  # noqa: E402

from adjoint import ReducedFunctional, SigmoidMap, TaoConfig, TotalVariation, minimize_tao  # noqa: E402
from fem.boundary import boundary_segments  # noqa: E402
from hybrid import (  # noqa: E402
    AbstractFunctionPDE,
    BiLO,
    BiLOConfig,
    BiLOFinetuneConfig,
    DataParallel,
    FunctionGradient,
    FunctionNetwork,
    FunctionNetworkConfig,
    NetworkConfig,
    PINN,
    PINNConfig,
    PINNFinetuneConfig,
    PretrainConfig,
    RegularizerConfig,
)
from hybrid.geometry import DistanceFunction  # noqa: E402

LO, HI, THRESHOLD = 3.0, 12.0, 7.5
# -

# ## The problem, declared once
#
# `DarcyPDE` is the strong form the networks see; the weak form
# $\int a\nabla u\cdot\nabla v = \int v$ lives in `fem.solve_elliptic` and
# `adjoint.ReducedFunctional` (same source, same boundary).

# +


@dataclass(frozen=True, kw_only=True, eq=False)
class DarcyPDE(AbstractFunctionPDE):
    """−∇·(a∇u) = 1 with a = 9·sigmoid(v) + 3 and u = φ·N (φ = 0 on the Dirichlet boundary)."""

    distance: DistanceFunction | None = None
    param_names: tuple[str, ...] = ("a",)
    input_dim: int = 2

    def phi(self, x: torch.Tensor) -> torch.Tensor:
        """The boundary factor φ(x): a product on the unit square, an ADF otherwise."""
        if self.distance is None:
            return x[:, 0] * (1 - x[:, 0]) * x[:, 1] * (1 - x[:, 1])
        return self.distance(x)

    def function_transform(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """a = 3 + 9·sigmoid(v): a smoothed two-valued coefficient in (3, 12)."""
        return LO + (HI - LO) * torch.sigmoid(v)

    def output_transform(self, x: torch.Tensor, N: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """u = φ(x)·N: exact homogeneous Dirichlet data."""
        return self.phi(x) * N

    def residual(self, x: torch.Tensor, u: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """r = −∇·(z∇u) − 1 with z = f_V(x) (∇z through f_V's graph)."""
        (du,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        flux = theta[:, :1] * du
        div = 0.0
        for i in range(2):
            (dflux,) = torch.autograd.grad(flux[:, i].sum(), x, create_graph=True)
            div = div + dflux[:, i]
        return -div - 1.0
# -

# ## Configuration and presets

# +


@dataclass(frozen=True, kw_only=True)
class DarcyConfig:
    """A Darcy comparison run; presets via :meth:`preset`."""

    cells: int = 50
    grf_sigma: float = 1.0
    grf_length: float = 0.1
    seeds: int = 3
    w_tv: float = 1e-9
    pinn_weights: tuple[float, ...] = (1.0, 100.0)
    adjoint_tv: float = 1e-7
    adjoint_tv_eps: float = 1e-2
    adjoint_space: str = "P1"
    adjoint_iterations: int = 300
    quadrature_degree: int = 4
    bilo: BiLOConfig = field(default_factory=BiLOConfig)
    pinn: PINNConfig = field(default_factory=PINNConfig)

    @classmethod
    def preset(cls, name: str) -> DarcyConfig:
        """``smoke`` (tests), ``demo`` (make demo, < 10 min on 2 cores), ``default``, ``paper``."""
        net = NetworkConfig(depth=4, width=128, fourier=True)
        fnet = FunctionNetworkConfig(depth=4, width=64)

        def methods(pre: int, fine: int, lr_theta: float = 1e-3, network=net, fnetwork=fnet, log=20,
                    every=500):
            return (
                BiLOConfig(network=network, function_network=fnetwork, log_every=log,
                           pretrain=PretrainConfig(steps=pre),
                           finetune=BiLOFinetuneConfig(steps=fine, lr_theta=lr_theta, fidelity_every=every,
                                                       regularizer=RegularizerConfig(kind="tv", weight=1e-9))),
                PINNConfig(network=network, function_network=fnetwork, log_every=log,
                           pretrain=PretrainConfig(steps=pre),
                           finetune=PINNFinetuneConfig(steps=fine, lr_theta=lr_theta,
                                                       regularizer=RegularizerConfig(kind="tv", weight=1e-9))),
            )

        if name == "smoke":
            small = NetworkConfig(depth=3, width=32, fourier=True)
            b, p = methods(60, 60, network=small, fnetwork=FunctionNetworkConfig(depth=3, width=16), log=5,
                           every=30)
            return cls(cells=12, seeds=1, pinn_weights=(100.0,), adjoint_iterations=30, bilo=b, pinn=p)
        if name == "demo":
            b, p = methods(1500, 1500)
            return cls(cells=30, seeds=1, pinn_weights=(100.0,), bilo=b, pinn=p)
        if name == "default":
            b, p = methods(3000, 3000)
            return cls(seeds=1, bilo=b, pinn=p)
        if name == "paper":
            b, p = methods(10_000, 5_000, every=1000)
            return cls(seeds=5, bilo=b, pinn=p)
        raise ValueError(f"unknown preset {name!r}")
# -

# ## Mesh, truth and data from fem/
#
# Everything is sampled on the chosen mesh: the GRF is a closed-form function of position
# (`fem.GaussianRandomField`), so the same law and the same draw apply on any domain and any
# number of ranks.

# +


@dataclass
class DarcySetup:
    """The mesh, fields and point sets of one comparison (each rank: its own points)."""

    md: fem.MeshData
    tags: tuple[int, ...] | None
    V: dolfinx.fem.FunctionSpace
    truth: fem.GaussianRandomField
    guess: fem.GaussianRandomField
    x_nodes: np.ndarray          # owned P1 node coordinates (N, 2): data points
    x_res: np.ndarray            # residual points: the owned nodes off the Dirichlet boundary
    u_true: np.ndarray           # FEM solution at the truth at x_nodes
    u_init: np.ndarray           # FEM solution at the initial guess at x_nodes
    x_quad: np.ndarray           # quadrature points of owned cells
    w_quad: np.ndarray           # their weights
    unit_square: bool

    def a_true(self, x: np.ndarray) -> np.ndarray:
        """The true coefficient 12/3 at points (N, ≥2)."""
        return np.where(self.truth(np.asarray(x)[:, :2]) > 0, HI, LO)

    def a_init(self, x: np.ndarray) -> np.ndarray:
        """The initial guess 9·sigmoid(ψ0) + 3 at points (N, ≥2)."""
        return LO + (HI - LO) / (1.0 + np.exp(-self.guess(np.asarray(x)[:, :2])))


def make_setup(cfg: DarcyConfig, mesh_path: str | None, tags: tuple[int, ...] | None, grf_seed: int,
               comm: MPI.Comm) -> DarcySetup:
    """Build the mesh, the truth and the initial guess, and solve for the data and the reference."""
    if mesh_path is None:
        md = fem.rectangle(comm, (cfg.cells, cfg.cells))
    else:
        md = fem.load_mesh(mesh_path, comm)
    if md.gdim != 2 or md.tdim != 2:
        raise ValueError(f"the Darcy comparison needs a 2D mesh, got a {md.tdim}D mesh in {md.gdim}D"
                         + (f" ({mesh_path})" if mesh_path else ""))
    truth = fem.GaussianRandomField(dim=2, sigma=cfg.grf_sigma, length_scale=cfg.grf_length, seed=grf_seed)
    guess = fem.GaussianRandomField(dim=2, sigma=cfg.grf_sigma, length_scale=cfg.grf_length,
                                    seed=grf_seed + 7919)
    V = dolfinx.fem.functionspace(md.mesh, ("Lagrange", 1))
    x_nodes = fem.dof_coordinates(V)
    # u = φ·N is exact on the Dirichlet boundary, where an ADF has a kink (its Laplacian is
    # singular there): the residual is taken at the other nodes only.
    facets = fem.locate_boundary_facets(md, tags)
    on_boundary = np.zeros(len(x_nodes), dtype=bool)
    dofs = dolfinx.fem.locate_dofs_topological(V, md.tdim - 1, facets)
    on_boundary[dofs[dofs < len(x_nodes)]] = True
    x_quad, w_quad = fem.quadrature_points(md, cfg.quadrature_degree)
    setup = DarcySetup(md=md, tags=tags, V=V, truth=truth, guess=guess, x_nodes=x_nodes,
                       x_res=x_nodes[~on_boundary],
                       u_true=np.empty(0), u_init=np.empty(0), x_quad=x_quad, w_quad=w_quad,
                       unit_square=mesh_path is None)
    setup.u_true = solve_u(setup, dg0_coefficient(setup, setup.a_true))
    setup.u_init = solve_u(setup, lambda x: setup.a_init(x.T))
    return setup


def dg0_coefficient(setup: DarcySetup, a) -> dolfinx.fem.Function:
    """A cellwise-constant coefficient (value at the cell midpoint): the two-valued truth."""
    Q = dolfinx.fem.functionspace(setup.md.mesh, ("DG", 0))
    f = dolfinx.fem.Function(Q)
    f.interpolate(lambda x: a(x.T))
    return f


def solve_u(setup: DarcySetup, a) -> np.ndarray:
    """FEM solution of −∇·(a∇u) = 1, u = 0 on the Dirichlet boundary, at the owned nodes."""
    sol = fem.solve_elliptic(setup.md, a=a, f=1.0, tags=setup.tags)
    n = setup.V.dofmap.index_map.size_local
    return sol.u.x.array[:n].copy()


def data_misfit(setup: DarcySetup, u_obs: np.ndarray) -> ReducedFunctional:
    """The FEM data misfit ½‖u(a) − d‖² at the nodes as a functional of a P1 coefficient a."""
    B = fem.PointEvaluator(setup.V, setup.x_nodes).matrix()
    return ReducedFunctional(setup.md.mesh, observation=B, data=u_obs, coefficient_space="P1", source=1.0,
                             facet_tags=setup.md.facet_tags, **_dirichlet(setup))


def function_gradient(rf: ReducedFunctional) -> FunctionGradient:
    """BiLO's gradient-fidelity reference: dL/da at the nodes of a P1 coefficient by one adjoint.

    L = mean over the N data nodes of (u − d)² = (2/N)·J, so dL/da = (2/N)·(the adjoint's dual).
    """
    n = rf.B.getSize()[0]  # the global number of observations
    return FunctionGradient(x=fem.dof_coordinates(rf.Q),
                            derivative=lambda f: rf.derivative(f).array_r * (2.0 / n))


def nodal_function(setup: DarcySetup, values_at_nodes: np.ndarray) -> dolfinx.fem.Function:
    """A P1 Function from its owned nodal values (ghosts updated)."""
    f = dolfinx.fem.Function(setup.V)
    n = setup.V.dofmap.index_map.size_local
    f.x.array[:n] = values_at_nodes
    f.x.scatter_forward()
    return f
# -

# ## Metrics, defined once for every method
#
# The coefficient error and the accuracy are integrals over the domain, evaluated with the
# mesh's quadrature (weights × |det J|) against the exact two-valued truth.

# +


def field_metrics(setup: DarcySetup, a_quad: np.ndarray, comm: MPI.Comm) -> dict[str, float]:
    """``field_rel_l2`` and ``accuracy`` of a coefficient given at the quadrature points."""
    ref = setup.a_true(setup.x_quad)
    match = ((a_quad > THRESHOLD) == (ref > THRESHOLD)).astype(float)
    area = comm.allreduce(float(setup.w_quad.sum()))
    return {"field_rel_l2": fem.relative_l2_error(a_quad, ref, weights=setup.w_quad, comm=comm),
            "accuracy": comm.allreduce(float(setup.w_quad @ match)) / area}


def global_mean(values: np.ndarray, comm: MPI.Comm) -> float:
    """Mean over all ranks' entries."""
    return comm.allreduce(float(np.sum(values))) / comm.allreduce(values.size)
# -

# ## The methods

# +


def run_network(spec: cli.MethodSpec, cfg: DarcyConfig, setup: DarcySetup, pde: DarcyPDE,
                u_obs: np.ndarray, seed: int, args, comm: MPI.Comm) -> tuple[dict[str, float], object, dict]:
    """BiLO or a PINN on this rank's nodes (data-parallel); metrics against the FEM."""
    if spec.name == "bilo":
        base = cfg.bilo
        fine = replace(base.finetune, regularizer=RegularizerConfig(kind="tv", weight=spec.options.get(
            "w_reg", cfg.w_tv)), lr_theta=spec.options.get("lr_theta", base.finetune.lr_theta))
        method = BiLO(replace(base, finetune=fine))
    else:
        base = cfg.pinn
        fine = replace(base.finetune, w_dat=spec.options.get("w_dat", 1.0),
                       lr_theta=spec.options.get("lr_theta", base.finetune.lr_theta),
                       regularizer=RegularizerConfig(kind="tv", weight=spec.options.get("w_reg", cfg.w_tv)))
        method = PINN(replace(base, finetune=fine))
    x = setup.x_nodes
    extra = {}
    if spec.name == "bilo" and base.finetune.fidelity_every > 0:
        extra["exact_data_gradient"] = function_gradient(data_misfit(setup, u_obs))
    res = method.fit(pde, x_res=setup.x_res, x_dat=x, u_dat=u_obs, theta_init=setup.a_init(setup.x_res),
                     u_ref=setup.u_init, x_ref=x, device=args.device, dtype=args.dtype, seed=seed,
                     progress=not args.quiet and comm.rank == 0, comm=comm if comm.size > 1 else None, **extra)
    metrics = field_metrics(setup, res.function(setup.x_quad), comm)
    fid = [h for h in res.history if "fidelity_cos" in h]
    if fid:
        # BiLO's dL_dat/dV against the adjoint's (chain rule through f_V at the nodes): at the
        # first check, and the median over all checks
        metrics["grad_cos_first"] = float(fid[0]["fidelity_cos"])
        metrics["grad_cos"] = float(np.median([h["fidelity_cos"] for h in fid]))
        metrics["grad_norm_ratio"] = float(np.median([h["fidelity_norm_ratio"] for h in fid]))
    a_nodes = res.function(x)
    u_fem = solve_u(setup, nodal_function(setup, a_nodes))
    u_nn = res.predict(x)
    # u error against the FEM solution at the network's own coefficient (nodal, lumped weights)
    w = fem.lumped_mass_weights(setup.V)
    metrics["u_rel_l2"] = fem.relative_l2_error(u_nn, u_fem, weights=w, comm=comm)
    metrics["data_mse"] = global_mean((u_nn - u_obs) ** 2, comm)
    cost = {"wall_s": res.wall_s, "steps": res.steps, "s_per_step": res.s_per_step}
    # data parallelism keeps every rank's weights identical: record each rank's checksum
    checksum = float(sum(p.detach().double().sum() for p in res.model.parameters()))
    cost["rank_checksums"] = comm.allgather(checksum)
    return metrics, (a_nodes, u_nn), cost


def run_adjoint(spec: cli.MethodSpec, cfg: DarcyConfig, setup: DarcySetup, u_obs: np.ndarray,
                comm: MPI.Comm) -> tuple[dict[str, float], object, dict]:
    """TAO bound-constrained L-BFGS on m with a = 3 + 9·sigmoid(m), TV-regularised."""
    B = fem.PointEvaluator(setup.V, setup.x_nodes).matrix()
    rf = ReducedFunctional(setup.md.mesh, observation=B, data=u_obs, coefficient_space=cfg.adjoint_space,
                           coefficient_map=SigmoidMap(lo=LO, hi=HI), source=1.0,
                           regularization=(TotalVariation(weight=spec.options.get("w_reg", cfg.adjoint_tv),
                                                          eps=cfg.adjoint_tv_eps),),
                           facet_tags=setup.md.facet_tags, **_dirichlet(setup))
    # The sigmoid map is not onto [3, 12]: start from the clipped initial guess.
    m0 = rf.parameter_from_coefficient(lambda x: np.clip(setup.a_init(x.T), LO + 1e-3, HI - 1e-3))
    t0 = time.perf_counter()
    opt = minimize_tao(rf, m0, TaoConfig(max_iter=cfg.adjoint_iterations, gttol=1e-8))
    wall = time.perf_counter() - t0
    a_fun = rf.coefficient_function(opt.m)
    a_quad = fem.PointEvaluator(a_fun.function_space, setup.x_quad).evaluate(a_fun)
    metrics = field_metrics(setup, a_quad, comm)
    u_adj = rf.observe(opt.m)
    metrics["data_mse"] = global_mean((u_adj - u_obs) ** 2, comm)
    metrics["n_forward"], metrics["n_adjoint"] = opt.n_forward, opt.n_adjoint
    a_nodes = fem.PointEvaluator(a_fun.function_space, setup.x_nodes).evaluate(a_fun)
    cost = {"wall_s": wall, "steps": opt.iterations, "s_per_step": wall / max(opt.iterations, 1)}
    return metrics, (a_nodes, u_adj), cost


def run_adjoint_network(spec: cli.MethodSpec, cfg: DarcyConfig, setup: DarcySetup, u_obs: np.ndarray,
                        seed: int, args, comm: MPI.Comm) -> tuple[dict[str, float], object, dict]:
    """BiLO's upper level with an exact lower level: Adam on the weights V of f_V, exact gradients.

    The same f_V network, initial fit to f0, learning rate and step counts as BiLO, but every
    step's gradient of the data loss mean_j (u(x_j) − d_j)² is the adjoint one (one forward and
    one adjoint FEM solve, then the chain rule through f_V at the nodes) instead of the local
    operator's. It separates what the parameterisation and optimiser can reach in this budget
    from what BiLO's approximate gradient costs. (The TV term, weight 1e-9, is left out.)
    """
    b = cfg.bilo
    dp = DataParallel(comm if comm.size > 1 else None)
    torch.manual_seed(seed)
    fnet = FunctionNetwork(2, b.function_network).to(torch.float64)
    params = list(fnet.parameters())
    dp.broadcast([t for t in fnet.state_dict().values() if t.is_floating_point()])
    pde = DarcyPDE()

    def f(x: np.ndarray) -> torch.Tensor:
        xt = torch.as_tensor(x, dtype=torch.float64)
        return pde.function_transform(xt, fnet(xt))

    def step(opt: torch.optim.Optimizer, out: torch.Tensor, seed_grad: torch.Tensor) -> None:
        grads = list(torch.autograd.grad(out, params, grad_outputs=seed_grad))
        dp.allreduce_sum(grads)
        for p_, g in zip(params, grads, strict=True):
            p_.grad = g
        opt.step()

    t0 = time.perf_counter()
    # as BiLO's pre-training does for V: least squares to the initial guess at the residual points
    f0 = torch.as_tensor(setup.a_init(setup.x_res), dtype=torch.float64)
    n_res = comm.allreduce(len(setup.x_res))
    opt = torch.optim.Adam(params, lr=b.pretrain.lr)
    for _ in range(b.pretrain.steps):
        fr = f(setup.x_res)
        step(opt, fr, 2.0 * (fr - f0).detach() / n_res)
    exact = function_gradient(data_misfit(setup, u_obs))
    opt = torch.optim.Adam(params, lr=spec.options.get("lr_theta", b.finetune.lr_theta))
    t1 = time.perf_counter()
    for k in range(1, b.finetune.steps + 1):
        fv = f(exact.x)
        step(opt, fv, torch.as_tensor(exact.derivative(fv.detach().numpy())))
        if not args.quiet and k % 500 == 0:
            print0(f"    adjoint_nn step {k}/{b.finetune.steps}")
    wall = time.perf_counter() - t0
    with torch.no_grad():
        metrics = field_metrics(setup, f(setup.x_quad).numpy(), comm)
        a_nodes = f(setup.x_nodes).numpy()
    u_nodes = solve_u(setup, nodal_function(setup, a_nodes))
    metrics["data_mse"] = global_mean((u_nodes - u_obs) ** 2, comm)
    steps = b.finetune.steps
    cost = {"wall_s": wall, "steps": steps, "s_per_step": (time.perf_counter() - t1) / max(steps, 1)}
    return metrics, (a_nodes, u_nodes), cost


def _dirichlet(setup: DarcySetup) -> dict:
    if setup.tags is None:
        return {}
    from adjoint import DirichletData

    return {"dirichlet": (DirichletData(tags=setup.tags),)}
# -

# ## Outputs: one figure, ParaView files

# +


def gather_cells(setup: DarcySetup, comm: MPI.Comm) -> np.ndarray | None:
    """Vertex coordinates of every cell (n_cells, 3, 2) on rank 0 (for plotting)."""
    msh = setup.md.mesh
    n = msh.topology.index_map(2).size_local
    tri = msh.geometry.x[msh.geometry.dofmaps[0][:n]][:, :3, :2]
    parts = comm.gather(tri, root=0)
    return np.concatenate(parts) if comm.rank == 0 else None


def plot_panel(setup: DarcySetup, fields: dict[str, np.ndarray], out: Path, comm: MPI.Comm) -> Path | None:
    """Truth, initial guess, and per method the inferred a, its thresholded map and the error."""
    cells = gather_cells(setup, comm)
    mid = np.mean(cells, axis=1) if comm.rank == 0 else None
    # every field is evaluated at the cell midpoints on rank 0: closed forms for the truth and the
    # guess, the gathered nodal values averaged per cell for the methods
    nodal = {k: comm.gather(v, root=0) for k, v in fields.items()}
    coords = comm.gather(setup.x_nodes, root=0)
    if comm.rank != 0:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from scipy.spatial import cKDTree

    xy = np.concatenate(coords)
    tree = cKDTree(xy)
    _, idx = tree.query(cells.reshape(-1, 2))
    idx = idx.reshape(-1, 3)
    truth = setup.a_true(mid)
    rows = [("truth", truth, None), ("initial guess", setup.a_init(mid), None)]
    for label, parts in nodal.items():
        vals = np.concatenate(parts)[idx].mean(axis=1)
        rows.append((label, vals, truth))
    fig, axes = plt.subplots(len(rows), 3, figsize=(10, 3.1 * len(rows)), squeeze=False)
    for ax_row, (label, vals, ref) in zip(axes, rows, strict=True):
        panels = [(f"{label}: a", vals, "viridis", (LO, HI)),
                  (f"{label}: a > {THRESHOLD}", (vals > THRESHOLD).astype(float), "gray", (0, 1))]
        if ref is not None:
            panels.append((f"{label}: a − a_true", vals - ref, "RdBu_r", (-HI + LO, HI - LO)))
        for ax, (title, v, cmap, lim) in zip(ax_row, panels, strict=False):
            pc = PolyCollection(cells, array=v, cmap=cmap, edgecolors="face")
            pc.set_clim(*lim)
            ax.add_collection(pc)
            ax.autoscale_view()
            ax.set_aspect("equal")
            ax.set_title(title, fontsize=9)
            fig.colorbar(pc, ax=ax)
        for ax in ax_row[len(panels):]:
            ax.axis("off")
    fig.tight_layout()
    path = out / "darcy_fields.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_paraview(setup: DarcySetup, fields: dict[str, np.ndarray], states: dict[str, np.ndarray],
                   out: Path) -> list[Path]:
    """XDMF (one file, all fields) and VTX (.bp) of a and u per method, truth and guess."""
    comm = setup.md.comm
    funcs = [dg0_coefficient(setup, setup.a_true)]
    funcs[0].name = "a_true"
    guess = dolfinx.fem.Function(setup.V, name="a_init")
    guess.interpolate(lambda x: setup.a_init(x.T))
    funcs += [guess, nodal_function(setup, setup.u_true)]
    funcs[-1].name = "u_true"
    for label, vals in fields.items():
        safe = label.replace("(", "_").replace(")", "").replace("=", "").replace(",", "_")
        f = nodal_function(setup, vals)
        f.name = f"a_{safe}"
        g = nodal_function(setup, states[label])
        g.name = f"u_{safe}"
        funcs += [f, g]
    paths = []
    xdmf = out / "darcy.xdmf"
    with dolfinx.io.XDMFFile(comm, str(xdmf), "w") as fh:
        fh.write_mesh(setup.md.mesh)
        for f in funcs:
            if f.function_space.element.basix_element.degree == 0:
                continue  # XDMF writes P1 data only; a_true (DG0) goes to the VTX file
            fh.write_function(f)
    paths.append(xdmf)
    for f in funcs:
        bp = out / f"{f.name}.bp"
        with dolfinx.io.VTXWriter(comm, str(bp), [f], engine="BP4") as vtx:
            vtx.write(0.0)
        paths.append(bp)
    return paths
# -

# ## Driver

# +

PUBLISHED = {"BiLO (paper §3.6)": {"field_rel_l2": 0.013, "accuracy": 0.98},
             "PINO (Li et al., quoted in the paper)": {"field_rel_l2": 0.0229, "accuracy": 0.971}}


def run(argv: list[str] | None = None) -> Report:
    """Parse the command line, run every requested method and seed, write the report."""
    comm = MPI.COMM_WORLD
    parser = cli.common_parser(
        "python -m comparisons.darcy",
        "Infer a two-valued permeability a(x) in −∇·(a∇u) = 1 from u at the mesh nodes with BiLO, "
        "PINNs, a PETSc adjoint (TAO) and adjoint_nn (BiLO's f_V network trained with exact adjoint "
        "gradients), on the unit square or on any 2D mesh.",
        "bilo,pinn(w_dat=100),adjoint,adjoint_nn", presets=("smoke", "demo", "default", "paper"))
    parser.add_argument("--mesh", default=None,
                        help="a 2D mesh file: gmsh .msh (physical tags kept), XDMF, or anything meshio "
                             "reads (default: the unit square with --cells cells per side)")
    parser.add_argument("--dirichlet-tags", default=None,
                        help="comma-separated facet tags carrying u = 0 (default: the whole boundary)")
    parser.add_argument("--cells", type=int, default=None, help="cells per side of the unit square (default 50)")
    parser.add_argument("--grf-seed", type=int, default=4, help="seed of the true field ψ (ψ0 uses seed + 7919)")
    parser.add_argument("--grf-length", type=float, default=None,
                        help="correlation length ℓ of ψ and ψ0 (default 0.1): larger ℓ, larger inclusions")
    args = parser.parse_args(argv)
    try:
        methods = cli.parse_methods(args.methods, {"bilo": ("w_reg", "lr_theta"),
                                                   "pinn": ("w_dat", "w_reg", "lr_theta"),
                                                   "adjoint": ("w_reg",), "adjoint_nn": ("lr_theta",)})
        tags = None if args.dirichlet_tags is None else tuple(int(t) for t in args.dirichlet_tags.split(","))
    except ValueError as exc:
        parser.error(str(exc))
    cfg = DarcyConfig.preset(args.preset)
    if args.cells is not None:
        if args.cells < 2:
            parser.error(f"--cells must be >= 2, got {args.cells}")
        cfg = replace(cfg, cells=args.cells)
    if args.seeds is not None:
        cfg = replace(cfg, seeds=args.seeds)
    if args.grf_length is not None:
        if not (np.isfinite(args.grf_length) and args.grf_length > 0):
            parser.error(f"--grf-length must be a positive number, got {args.grf_length}")
        cfg = replace(cfg, grf_length=args.grf_length)
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda requested but torch sees no CUDA device")
    out = Path(args.out or f"results/darcy-{args.preset}-noise{args.noise:g}")
    if args.mesh is not None and not Path(args.mesh).exists():
        raise FileNotFoundError(f"--mesh {args.mesh}: no such file")

    t0 = time.perf_counter()
    setup = make_setup(cfg, args.mesh, tags, args.grf_seed, comm)
    n_nodes = comm.allreduce(len(setup.x_nodes))
    print0(f"[darcy] preset {args.preset}, noise {args.noise}, {comm.size} rank(s), device {args.device}; "
           f"mesh {'unit square ' + str(cfg.cells) + '×' + str(cfg.cells) if setup.unit_square else args.mesh}, "
           f"{n_nodes} nodes; setup {time.perf_counter() - t0:.1f} s")
    distance = None
    if tags is not None and any(s.name in ("bilo", "pinn") for s in methods):
        n_all = comm.allreduce(len(fem.locate_boundary_facets(setup.md, None)))
        n_tagged = comm.allreduce(len(fem.locate_boundary_facets(setup.md, tags)))
        if n_tagged < n_all:
            raise ValueError(f"--dirichlet-tags {args.dirichlet_tags} covers {n_tagged} of {n_all} boundary "
                             "facets; the networks impose u = 0 exactly but have no loss for the natural "
                             "(zero-flux) condition on the rest, so run them with the whole boundary "
                             "Dirichlet, or use --methods adjoint")
    if not setup.unit_square:
        distance = DistanceFunction(boundary_segments(setup.md, tags))
    pde = DarcyPDE(distance=distance)
    init_metrics = field_metrics(setup, setup.a_init(setup.x_quad), comm)
    print0("[darcy] initial guess: " + ", ".join(f"{k} {v:.3g}" for k, v in init_metrics.items()))

    report = Report(problem="darcy", preset=args.preset, noise=args.noise, seeds=cfg.seeds, ranks=comm.size,
                    device=args.device, config=asdict(cfg) | {"mesh": args.mesh or "unit square",
                                                             "dirichlet_tags": tags, "grf_seed": args.grf_seed})
    report.reference_rows.update(PUBLISHED)
    report.baseline_rows["initial guess"] = init_metrics
    report.notes.append(f"truth a = {HI:g} where ψ > 0 else {LO:g}, ψ a GRF (σ = {cfg.grf_sigma}, "
                        f"ℓ = {cfg.grf_length}, seed {args.grf_seed}); initial guess 9·sigmoid(ψ0) + 3; "
                        f"f = 1; u = 0 on {'the boundary' if tags is None else 'tags ' + str(tags)}; "
                        f"data at all {n_nodes} mesh nodes; threshold {THRESHOLD}")
    fields: dict[str, np.ndarray] = {}
    states: dict[str, np.ndarray] = {}
    for seed in range(cfg.seeds):
        rng = np.random.default_rng([seed, comm.rank])
        u_obs = setup.u_true + args.noise * rng.standard_normal(setup.u_true.shape)
        for spec in methods:
            print0(f"[darcy] seed {seed}: {spec.label}")
            if spec.name == "adjoint":
                metrics, (a_nodes, u_nodes), cost = run_adjoint(spec, cfg, setup, u_obs, comm)
            elif spec.name == "adjoint_nn":
                metrics, (a_nodes, u_nodes), cost = run_adjoint_network(spec, cfg, setup, u_obs, seed, args, comm)
            else:
                metrics, (a_nodes, u_nodes), cost = run_network(spec, cfg, setup, pde, u_obs, seed, args, comm)
            checksums = cost.pop("rank_checksums", None)
            report.record(spec.label).add(metrics, **cost)
            if checksums is not None:
                report.record(spec.label).extra.setdefault("rank_weight_checksums", []).append(checksums)
            print0("    " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()) + f", {cost['wall_s']:.1f} s")
            if seed == 0:
                fields[spec.label], states[spec.label] = a_nodes, u_nodes

    if comm.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    comm.barrier()  # the ParaView writers below are collective and need the folder
    written = write_paraview(setup, fields, states, out)
    png = plot_panel(setup, fields, out, comm)
    if comm.rank == 0:
        written += report.write(out)
        written.append(png)
        print(report.table())
        print("\nwrote " + ", ".join(str(p) for p in written), flush=True)
    return report


def main(argv: list[str] | None = None) -> Report:
    """Entry point: :func:`run` under MPI error handling (an error on one rank ends all ranks)."""
    return run_collectively(lambda: run(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
# -
