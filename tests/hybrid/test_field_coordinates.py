"""A function unknown of some input coordinates only (an initial condition u0(x) of inputs (t, x)).

The function network takes the field's own coordinates; its regulariser can be evaluated on
points of those coordinates (``x_reg``) instead of the residual points; results take them too.
"""

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hybrid_problems import FisherKPP, fk_data, fk_grid

import hybrid
from hybrid import AbstractFunctionPDE, BiLO, BiLOConfig, FunctionNetworkConfig, HybridModel, NetworkConfig
from hybrid.config import RegularizerConfig
from hybrid.objectives import regularizer_term


@dataclass(frozen=True, kw_only=True)
class HeatIC(AbstractFunctionPDE):
    """u_t = 0.01 u_xx, inputs (t, x); the unknown u0(x) = v·x(1−x)."""

    param_names: tuple[str, ...] = ("u0",)
    input_dim: int = 2
    field_columns: tuple[int, ...] | None = (1,)

    def function_transform(self, x, v):
        return v * x[:, 0] * (1 - x[:, 0])

    def output_transform(self, x, N, theta):
        return N * x[:, 1] * (1 - x[:, 1]) * x[:, 0] + theta[:, 0]

    def residual(self, x, u, theta):
        (du,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        (d2,) = torch.autograd.grad(du[:, 1].sum(), x, create_graph=True)
        return du[:, 0] - 0.01 * d2[:, 1]


def _grid(n):
    t, x = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n), indexing="ij")
    return np.stack([t.ravel(), x.ravel()], 1)


def _fit(**kw):
    x_res, x_dat = _grid(6), np.stack([np.ones(5), np.linspace(0, 1, 5)], 1)
    cfg = BiLOConfig(network=NetworkConfig(depth=3, width=8), function_network=FunctionNetworkConfig(width=8),
                     pretrain=hybrid.PretrainConfig(steps=2),
                     finetune=hybrid.BiLOFinetuneConfig(steps=2, regularizer=RegularizerConfig(kind="h1",
                                                                                              weight=1e-2)))
    return BiLO(cfg).fit(HeatIC(), x_res, x_dat, np.zeros(5), np.sin(np.pi * x_res[:, 1]), progress=False,
                         dtype="float64", **kw)


def test_the_regulariser_on_field_points_is_the_mean_squared_slope():
    torch.manual_seed(0)
    model = HybridModel(HeatIC(), None, embed=True, network=NetworkConfig(depth=3, width=8),
                        function_network=FunctionNetworkConfig(width=8)).double()
    xf = torch.linspace(0, 1, 2001, dtype=torch.float64)[:, None]
    reg = regularizer_term(model, xf, 2001, True, RegularizerConfig(kind="h1", weight=1.0))
    with torch.no_grad():
        f = model.field(xf).numpy()
    slope = np.gradient(f, xf[:, 0].numpy())
    # central differences on h = 5e-4: O(h²) ≈ 1e-7 relative for this smooth network
    assert float(reg.detach()) == pytest.approx(float(np.mean(slope**2)), rel=1e-4)


def test_fit_with_x_reg_and_results_in_field_coordinates():
    res = _fit(x_reg=np.linspace(0, 1, 101)[:, None])
    assert any("reg" in h for h in res.history if h["phase"] == "finetune")
    assert res.function(np.linspace(0, 1, 7)[:, None]).shape == (7,)
    with pytest.raises(ValueError, match=r"shape \(N, 1\)"):
        res.function(_grid(3))
    with pytest.raises(ValueError, match="x_reg must have shape"):
        _fit(x_reg=_grid(3))


def test_x_reg_is_refused_for_scalar_unknowns():
    with pytest.raises(ValueError, match="x_reg applies to a function unknown only"):
        cfg = BiLOConfig(pretrain=hybrid.PretrainConfig(steps=0), finetune=hybrid.BiLOFinetuneConfig(steps=0))
        BiLO(cfg).fit(
            FisherKPP(), fk_grid(3, 3), fk_grid(2, 2), fk_data(fk_grid(2, 2)), {"rD": 1.0, "rrho": 1.0},
            x_reg=np.zeros((3, 1)), progress=False)


def test_bad_field_columns_are_refused():
    with pytest.raises(ValueError, match="field_columns must be distinct input columns"):
        HeatIC(field_columns=(2,)).field_dims()
