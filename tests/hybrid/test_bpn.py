"""BPN (hybrid.bpn): Broyden's method on linear systems, the implicit hypergradient, configs, a fit."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from hybrid import PINN, AbstractPDE, NetworkConfig, PretrainConfig
from hybrid.bpn import BPN, BPNConfig, BPNFinetuneConfig, broyden_solve, hypergradient


def _spd(n, rng, lo=1.0, hi=10.0):
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return q @ np.diag(np.linspace(lo, hi, n)) @ q.T


@pytest.mark.parametrize("symmetric", [True, False])
def test_broyden_solves_a_small_linear_system_within_2n_iterations(symmetric):
    # Gay (1979): Broyden's good method ends on an n×n linear system within 2n steps in exact
    # arithmetic; in float64 with condition number 10 the residual is then round-off, so 1e-10.
    rng = np.random.default_rng(1)
    n = 6
    A = _spd(n, rng) if symmetric else 3 * np.eye(n) + 0.5 * rng.standard_normal((n, n))
    At = torch.as_tensor(A)
    b = torch.as_tensor(rng.standard_normal(n))
    res = broyden_solve(lambda v: At @ v, b, iterations=2 * n)
    assert res.relative_residual < 1e-10, res.residual_norms
    np.testing.assert_allclose(res.solution.numpy(), np.linalg.solve(A, b.numpy()), rtol=1e-8, atol=1e-10)
    assert res.iterations <= 2 * n
    # the residual reported is the solution's own
    own = float(torch.linalg.vector_norm(At @ res.solution - b))
    assert res.residual_norm == pytest.approx(own, rel=1e-6)


def test_broyden_stops_at_its_tolerance_and_returns_zero_for_a_zero_rhs():
    rng = np.random.default_rng(2)
    n = 40
    A = torch.as_tensor(_spd(n, rng))
    b = torch.as_tensor(rng.standard_normal(n))
    res = broyden_solve(lambda v: A @ v, b, iterations=2 * n, tol=1e-3)
    assert res.relative_residual <= 1e-3 and res.iterations < 2 * n
    zero = broyden_solve(lambda v: A @ v, torch.zeros(n, dtype=torch.float64), iterations=5)
    assert zero.iterations == 0 and float(zero.solution.abs().max()) == 0.0


def test_broyden_hypergradient_equals_the_exact_implicit_gradient_of_a_quadratic_lower_level():
    # L(w, θ) = ½wᵀAw − wᵀBθ (A SPD) has w*(θ) = A⁻¹Bθ; J(w, θ) = ½|Cw − d|² + ½|θ|², so
    # dJ/dθ = θ + BᵀA⁻¹Cᵀ(Cw* − d). The Hessian of L is A (8×8): 2n = 16 Broyden iterations
    # solve for v exactly up to round-off (Gay's bound), hence a relative tolerance of 1e-8.
    rng = np.random.default_rng(3)
    nw, nt, nd = 8, 3, 5
    A, B = _spd(nw, rng), rng.standard_normal((nw, nt))
    C, d = rng.standard_normal((nd, nw)), rng.standard_normal(nd)
    theta_np = rng.standard_normal(nt)
    w_star = np.linalg.solve(A, B @ theta_np)
    exact = theta_np + B.T @ np.linalg.solve(A, C.T @ (C @ w_star - d))

    At, Bt, Ct, dt = (torch.as_tensor(a) for a in (A, B, C, d))
    w = torch.tensor(w_star, requires_grad=True)
    theta = torch.tensor(theta_np, requires_grad=True)
    lower = 0.5 * w @ At @ w - w @ Bt @ theta
    upper = 0.5 * (Ct @ w - dt).square().sum() + 0.5 * theta.square().sum()
    (g,), solved = hypergradient(lower, upper, [w], [theta], iterations=2 * nw)
    assert solved.relative_residual < 1e-10
    np.testing.assert_allclose(g.numpy(), exact, rtol=1e-8, atol=1e-10)
    # and it is not the partial derivative ∂J/∂θ = θ alone: the implicit term matters here
    assert np.linalg.norm(exact - theta_np) > 0.1 * np.linalg.norm(exact)


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [({"upper_steps": -1}, "upper_steps"), ({"lower_steps": 0}, "lower_steps"),
     ({"broyden_iterations": 0}, "broyden_iterations"), ({"lr_theta": 0.0}, "lr_theta"),
     ({"lr_W": float("nan")}, "lr_W"), ({"broyden_tol": -1.0}, "broyden_tol")],
)
def test_bad_finetune_options_are_one_line_errors_naming_them(kwargs, option):
    with pytest.raises(ValueError, match=option) as info:
        BPNFinetuneConfig(**kwargs)
    assert "\n" not in str(info.value)


def test_bad_solver_and_config_arguments_are_refused():
    with pytest.raises(ValueError, match="log_every"):
        BPNConfig(log_every=0)
    with pytest.raises(ValueError, match="iterations"):
        broyden_solve(lambda v: v, torch.ones(3), iterations=0)
    with pytest.raises(ValueError, match="tol"):
        broyden_solve(lambda v: v, torch.ones(3), iterations=3, tol=-1.0)
    assert BPNConfig.smoke().finetune.upper_steps < BPNConfig().finetune.upper_steps


@dataclass(frozen=True, kw_only=True)
class _Toy(AbstractPDE):
    """u'' = 2 on (0, 1), u(0) = a, u(1) = b, u = N·x(1−x) + a(1−x) + b·x."""

    param_names: tuple[str, ...] = ("a", "b")
    input_dim: int = 1

    def output_transform(self, x, N, theta):
        s = x[:, 0]
        return N * s * (1 - s) + theta[:, 0] * (1 - s) + theta[:, 1] * s

    def residual(self, x, u, theta):
        (ux,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        (uxx,) = torch.autograd.grad(ux.sum(), x, create_graph=True)
        return uxx[:, 0] - 2


def test_a_fit_moves_theta_only_at_upper_steps_and_counts_the_lower_iterations():
    x = np.linspace(0, 1, 16)[:, None]
    u = x[:, 0] ** 2
    cfg = BPNConfig(network=NetworkConfig(depth=3, width=8), pretrain=PretrainConfig(steps=20),
                    finetune=BPNFinetuneConfig(upper_steps=3, lower_steps=4, broyden_iterations=4))
    pre = BPN(cfg).fit(_Toy(), x, x, u, {"a": 1.0, "b": 0.0}, device="cpu", dtype="float64")
    shared = PINN(cfg.pretraining()).fit(_Toy(), x, x, u, {"a": 1.0, "b": 0.0}, device="cpu",
                                         dtype="float64", progress=False)
    before = [p.detach().clone() for p in shared.model.parameters()]
    again = BPN(cfg).fit(_Toy(), x, x, u, {"a": 1.0, "b": 0.0}, device="cpu", dtype="float64",
                         pretrained=shared)
    rows = [h for h in pre.history if h["phase"] == "finetune"]
    assert [h["lower_iterations"] for h in rows] == [4, 8, 12]
    assert pre.steps == 3 and pre.pretrain_steps == 20
    # each upper step moves θ by about the Adam learning rate (first steps of Adam: ≈ lr per entry)
    assert abs(rows[0]["theta_a"] - 1.0) == pytest.approx(0.05, rel=0.05)
    # the data (u = x², a = 0, b = 1) pull a down and b up from (1, 0)
    assert rows[-1]["theta_a"] < 1.0 and rows[-1]["theta_b"] > 0.0
    assert all(np.isfinite(h["broyden_rel_residual"]) for h in rows)
    # started from a shared pre-training: its rows are not repeated, and it is left unchanged
    assert np.isfinite(again.theta["a"]) and again.history[0]["phase"] == "finetune"
    assert all(torch.equal(a, b) for a, b in zip(before, shared.model.parameters(), strict=True))
