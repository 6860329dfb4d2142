"""The DeepONet: fits a tiny data set, and its frozen inversion recovers the inputs of its own data."""

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from hybrid import AbstractPDE, DeepONetConfig, invert_operator, train_deeponet


@dataclass(frozen=True)
class _Plain(AbstractPDE):
    """u = N on (0, 1): no transform, so the test sees the operator itself."""

    param_names: tuple[str, ...] = ("a", "b")
    input_dim: int = 1

    def residual(self, x, u, theta):  # pragma: no cover - unused by the operator
        raise NotImplementedError

    def output_transform(self, x, N, theta):
        return N


def _data(n: int = 7):
    # u(x; a, b) = a·sin(πx) + b·x on a grid of (a, b) ∈ [0.5, 1.5]²
    axis = np.linspace(0.5, 1.5, n)
    a, b = (g.ravel() for g in np.meshgrid(axis, axis, indexing="ij"))
    x = np.linspace(0, 1, 33)[:, None]
    u = a[:, None] * np.sin(math.pi * x[:, 0]) + b[:, None] * x[:, 0]
    return np.stack([a, b], axis=1), x, u


def test_deeponet_fits_a_tiny_data_set():
    inputs, x, u = _data()
    cfg = DeepONetConfig(width=32, basis=32, train_steps=1500, batch=64, lr=3e-3, invert_steps=0)
    fit = train_deeponet(_Plain(), inputs, x, u, cfg, seed=0)
    # |u| ≈ 1: a mean squared error of 1e-4 is a 1 % pointwise error (measured: train 4.0e-5,
    # validation 3.1e-5 on this 2-core CPU, seed 0; the first batch's loss 1.7)
    assert fit.train_loss < 1e-4 and fit.val_loss < 1e-4, (fit.train_loss, fit.val_loss)
    assert not any(p.requires_grad for p in fit.model.parameters())  # frozen
    assert fit.history[0]["train"] > 10 * fit.train_loss


def test_inversion_through_the_frozen_operator_recovers_its_own_inputs():
    inputs, x, u = _data(4)
    cfg = DeepONetConfig(width=16, basis=16, train_steps=200, batch=16, invert_steps=3000, lr_invert=1e-2)
    fit = train_deeponet(_Plain(), inputs, x, u, cfg, seed=1)
    target = np.array([1.2, 0.8])
    with torch.no_grad():
        d = fit.model(torch.as_tensor(target[None], dtype=torch.float32),
                      torch.as_tensor(x, dtype=torch.float32))[0].double().numpy()
    p, history = invert_operator(fit.model, x, d, np.array([1.0, 1.0]), cfg, names=("a", "b"))
    # the data are the operator's own output at the target: the misfit can vanish there, so the
    # inversion is an optimisation problem only (measured: error 7e-8, misfit 1e-14; asserted 1e-4)
    np.testing.assert_allclose(p, target, atol=1e-4)
    assert history[-1]["data"] < 1e-7 and history[-1]["theta_a"] == pytest.approx(p[0])


def test_bad_config_and_shapes_are_named():
    with pytest.raises(ValueError, match="width must be >= 1"):
        DeepONetConfig(width=0)
    with pytest.raises(ValueError, match="val_fraction"):
        DeepONetConfig(val_fraction=1.0)
    inputs, x, u = _data(3)
    with pytest.raises(ValueError, match="data set shapes do not fit"):
        train_deeponet(_Plain(), inputs, x, u[:, :-1], DeepONetConfig.smoke())
