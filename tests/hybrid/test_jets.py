"""The forward-tangent (jet) path against autograd and finite differences."""

import dataclasses

import numpy as np
import pytest
import torch
from hybrid_problems import (
    Burgers,
    BurgersAutograd,
    Darcy,
    DarcyAutograd,
    FisherKPP,
    FisherKPPJet,
    Heat,
    HeatAutograd,
    VarPoisson,
    VarPoissonAutograd,
    fk_data,
    fk_grid,
)

import hybrid
from hybrid import HybridModel


def _model(pde, derivatives, *, fourier=False, embed=True):
    torch.manual_seed(4)
    return HybridModel(pde, torch.tensor([1.3, 0.7]), embed=embed,
                       network=hybrid.NetworkConfig(depth=4, width=12, fourier=fourier),
                       function_network=hybrid.FunctionNetworkConfig.smoke(),
                       derivatives=derivatives).double()


@pytest.mark.parametrize("fourier", [False, True])
@pytest.mark.parametrize("embed", [False, True])
def test_jet_residual_and_rgrad_equal_autograd(fourier, embed):
    x = torch.rand(9, 2, dtype=torch.float64)
    jet = _model(FisherKPPJet(), "jet", fourier=fourier, embed=embed)
    ag = _model(FisherKPPJet(), "autograd", fourier=fourier, embed=embed)
    ref = _model(FisherKPP(), "auto", fourier=fourier, embed=embed)  # the hand-written autograd residual
    assert jet.jet and not ag.jet and not ref.jet
    r1, g1 = jet.residual(x, with_gradient=True)
    r2, g2 = ag.residual(x, with_gradient=True)
    r3, g3 = ref.residual(x, with_gradient=True)
    for r, g in ((r2, g2), (r3, g3)):
        np.testing.assert_allclose(r1.detach(), r.detach(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g1.detach(), g.detach(), rtol=1e-10, atol=1e-14)
    # W-gradients of the lower-level loss agree too.
    L1 = (r1 ** 2).mean() + 0.1 * (g1 ** 2).sum(1).mean()
    L3 = (r3 ** 2).mean() + 0.1 * (g3 ** 2).sum(1).mean()
    g1, g3 = torch.autograd.grad(L1, jet.weights()), torch.autograd.grad(L3, ref.weights())
    for a, b in zip(g1, g3, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-13)


def test_jet_rgrad_matches_central_differences():
    model = _model(FisherKPPJet(), "jet")
    x = torch.rand(5, 2, dtype=torch.float64)
    _, g = model.residual(x, with_gradient=True)
    h = 1e-5
    for p in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[p] = h
        rs = []
        for s in (1, -1):
            with torch.no_grad():
                model.theta += s * e
            rs.append(model.residual(x, with_gradient=False)[0].detach())
            with torch.no_grad():
                model.theta -= s * e
        np.testing.assert_allclose(g[:, p].detach(), (rs[0] - rs[1]) / (2 * h), rtol=1e-6, atol=1e-9)


# "compiled" goes through the engine's Run.update, which takes W's gradient with retain_graph=True
# (a compiled backward that donates its buffers would refuse it); it compiles, hence slow
@pytest.mark.parametrize("other", ["autograd", pytest.param("compiled", marks=pytest.mark.slow)])
def test_jet_and_other_fits_agree(other):
    xr, xd = fk_grid(5, 5), fk_grid(3, 3)
    out = []
    for d in ("jet", other):
        cfg = hybrid.BiLOConfig(network=hybrid.NetworkConfig(depth=3, width=8), derivatives=d,
                                pretrain=hybrid.PretrainConfig(steps=3),
                                finetune=hybrid.BiLOFinetuneConfig(steps=3))
        out.append(hybrid.BiLO(cfg).fit(FisherKPPJet(), xr, xd, fk_data(xd), {"rD": 1.0, "rrho": 1.0},
                                        u_ref=fk_data(xr), dtype="float64", progress=False))
    assert out[0].theta == pytest.approx(out[1].theta, rel=1e-9)
    assert out[0].theta != pytest.approx({"rD": 1.0, "rrho": 1.0}, rel=1e-6)  # θ moved


def test_jet_requires_a_jet_problem():
    with pytest.raises(ValueError, match="AbstractJetPDE"):
        _model(FisherKPP(), "jet")


# Function unknowns: z = f_V(x) enters the embedding with its own tangents.
FUNCTION_CASES = {
    "darcy": (Darcy(), DarcyAutograd(), 2),
    "poisson": (VarPoisson(), VarPoissonAutograd(), 1),
    "heat": (Heat(), HeatAutograd(), 2),
    "burgers": (Burgers(), BurgersAutograd(), 2),
}


def _function_model(pde, derivatives, *, embed, fourier=True, output="identity"):
    torch.manual_seed(4)
    fnet = hybrid.FunctionNetworkConfig(depth=3, width=6, fourier=fourier, output_activation=output)
    return HybridModel(pde, None, embed=embed,
                       network=hybrid.NetworkConfig(depth=3, width=10, fourier=fourier),
                       function_network=fnet, derivatives=derivatives).double()


@pytest.mark.parametrize("f_v", ["fourier", "mlp", "softplus"])
@pytest.mark.parametrize("embed", [True, False], ids=["bilo", "pinn"])
@pytest.mark.parametrize("case", list(FUNCTION_CASES))
def test_function_jet_residual_rgrad_and_gradients_equal_autograd(case, embed, f_v):
    jet_pde, ag_pde, d = FUNCTION_CASES[case]
    x = torch.rand(11, d, dtype=torch.float64)
    kw = {"fourier": f_v == "fourier", "output": "softplus" if f_v == "softplus" else "identity"}
    jet = _function_model(jet_pde, "auto", embed=embed, **kw)
    ag = _function_model(ag_pde, "autograd", embed=embed, **kw)  # the hand-written nested-autograd residual
    assert jet.jet and not ag.jet
    r1, g1 = jet.residual(x, with_gradient=embed)
    r2, g2 = ag.residual(x, with_gradient=embed)
    np.testing.assert_allclose(r1.detach(), r2.detach(), rtol=1e-11, atol=1e-13)
    if embed:
        # dr/dz with ∇z held fixed, as the autograd path takes it; then BiLO's lower-level W-gradient
        np.testing.assert_allclose(g1.detach(), g2.detach(), rtol=1e-10, atol=1e-13)
        L1 = (r1**2).mean() + 0.1 * (g1**2).sum(1).mean()
        L2 = (r2**2).mean() + 0.1 * (g2**2).sum(1).mean()
        for a, b in zip(torch.autograd.grad(L1, jet.weights()), torch.autograd.grad(L2, ag.weights()),
                        strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    else:
        # the PINN trains W and V on the residual: both gradients agree
        L1, L2 = (r1**2).mean(), (r2**2).mean()
        p1, p2 = jet.weights() + jet.unknowns(), ag.weights() + ag.unknowns()
        for a, b in zip(torch.autograd.grad(L1, p1), torch.autograd.grad(L2, p2), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_function_jet_rgrad_is_the_derivative_in_z_with_its_gradient_fixed():
    # r(z + h) − r(z − h) over 2h, z shifted by a constant (so ∇z, Δz are unchanged)
    model = _function_model(Darcy(), "jet", embed=True)
    x = torch.rand(7, 2, dtype=torch.float64)
    _, g = model.residual(x, with_gradient=True)
    h, rs = 1e-5, []
    for s in (1, -1):
        model.pde = _ShiftedDarcy(shift=s * h)
        rs.append(model.residual(x, with_gradient=False)[0].detach())
    np.testing.assert_allclose(g[:, 0].detach(), (rs[0] - rs[1]) / (2 * h), rtol=1e-6, atol=1e-8)


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class _ShiftedDarcy(Darcy):
    """f + shift: a constant shift of z leaves its derivatives unchanged."""

    shift: float = 0.0

    def function_transform(self, x, v):
        return super().function_transform(x, v) + self.shift


def test_p1_field_jet_equals_autograd():
    # a piecewise-linear f: ∇f exact, ∂²f = 0 inside the elements (no graph to differentiate)
    verts = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=float)
    mesh = hybrid.FunctionMesh(vertices=verts, triangles=np.array([[0, 1, 3], [0, 3, 2]]),
                               initial=np.array([4.0, 5.0, 6.0, 9.0]))
    out = []
    for pde, d in ((Darcy(), "jet"), (DarcyAutograd(), "autograd")):
        torch.manual_seed(4)
        m = HybridModel(pde, None, embed=True, network=hybrid.NetworkConfig(depth=3, width=10),
                        function_network=hybrid.FunctionNetworkConfig(kind="p1"), derivatives=d,
                        function_mesh=mesh).double()
        x = torch.tensor([[0.2, 0.3], [0.7, 0.4], [0.4, 0.9]], dtype=torch.float64)
        out.append([t.detach() for t in m.residual(x, with_gradient=True)])
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
