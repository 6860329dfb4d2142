"""Approximate distance functions (hybrid/geometry.py): exact zeros, positivity, smoothness."""

import functools
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from hybrid import geometry
from hybrid.geometry import DistanceFunction, dirichlet_transform

SQUARE = np.array([[[0, 0], [1, 0]], [[1, 0], [1, 1]], [[1, 1], [0, 1]], [[0, 1], [0, 0]]], dtype=float)


def polygon(points: np.ndarray) -> np.ndarray:
    """Closed polygon -> segments ``(n, 2, 2)``."""
    return np.stack([points, np.roll(points, -1, axis=0)], axis=1)


def ellipse_with_hole(n: int = 90) -> np.ndarray:
    """A polygonal ellipse minus a polygonal disk, like comparisons/meshes/example_domain.msh."""
    s = np.linspace(0, 2 * np.pi, n, endpoint=False)
    outer = np.stack([0.5 + 0.45 * np.cos(s), 0.5 + 0.35 * np.sin(s)], axis=1)
    hole = np.stack([0.3 + 0.1 * np.cos(s[::3]), 0.5 + 0.1 * np.sin(s[::3])], axis=1)
    return np.concatenate([polygon(outer), polygon(hole)])


DOMAINS = {"square": SQUARE, "ellipse_with_hole": ellipse_with_hole()}


@functools.cache
def adf(name: str, m: int = 1, normalize: bool = True) -> DistanceFunction:
    """One instance per setting (the normalisation costs a grid evaluation)."""
    return DistanceFunction(DOMAINS[name], m=m, normalize=normalize)


def on_segments(segments: np.ndarray, k: int = 7) -> np.ndarray:
    """End points, midpoints and random points of every segment."""
    s = np.concatenate([[0.0, 0.5, 1.0], np.random.default_rng(1).random(k)])
    a, b = segments[:, None, 0], segments[:, None, 1]
    return (a + s[None, :, None] * (b - a)).reshape(-1, 2)


def interior(phi: DistanceFunction, n: int, dtype=torch.float64) -> torch.Tensor:
    x = torch.rand(4 * n, 2, dtype=dtype)
    return x[phi.inside(x)][:n]


@pytest.mark.parametrize("name", DOMAINS)
@pytest.mark.parametrize("m", [1, 2])
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-12), (torch.float32, 1e-6)])
def test_zero_on_every_segment(name, m, normalize, dtype, tol):
    phi = adf(name, m, normalize)
    x = torch.from_numpy(on_segments(DOMAINS[name])).to(dtype)
    values = phi(x)
    assert values.dtype == dtype and values.shape == (len(x),)
    # the points themselves are rounded to ``dtype``: φ is zero up to |∇φ| = 1 / scale times that
    assert values.abs().max() <= tol / min(1.0, float(phi.scale))


@pytest.mark.parametrize("name", DOMAINS)
@pytest.mark.parametrize("m", [1, 2])
def test_positive_inside_with_maximum_about_one(name, m):
    phi = adf(name, m)
    x = interior(phi, 2000)
    values = phi(x)
    assert values.min() > 0 and 0.9 < values.max() < 1.05


def test_inside_excludes_holes():
    phi = adf("ellipse_with_hole")
    x = torch.tensor([[0.5, 0.5], [0.3, 0.5], [0.02, 0.5], [0.75, 0.5]], dtype=torch.float64)
    assert phi.inside(x).tolist() == [True, False, False, True]


@pytest.mark.parametrize("m", [1, 2, 3])
def test_matches_the_paper_formula(m):
    """The overflow-safe evaluation equals the R_m formula of Sukumar & Srivastava (2022) as written."""
    seg = DOMAINS["ellipse_with_hole"]
    x = np.random.default_rng(2).random((50, 2))
    a, b = seg[None, :, 0], seg[None, :, 1]
    L = np.linalg.norm(b - a, axis=2)
    d, r = b - a, x[:, None] - a
    f = (r[..., 0] * d[..., 1] - r[..., 1] * d[..., 0]) / L
    t = ((L / 2) ** 2 - np.sum((x[:, None] - (a + b) / 2) ** 2, axis=2)) / L
    phi_i = np.sqrt(f**2 + ((np.sqrt(t**2 + f**4) - t) / 2) ** 2)
    expected = 1.0 / np.sum(phi_i ** (-m), axis=1) ** (1.0 / m)
    got = DistanceFunction(seg, m=m, normalize=False)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-11)


@pytest.mark.parametrize("m", [1, 2])
def test_unit_normal_derivative_on_the_boundary(m):
    """Normalised to first order: |∇φ| -> 1 at the middle of a segment (before the scaling)."""
    phi = DistanceFunction(SQUARE, m=m, normalize=False)
    x = torch.tensor([[0.5, 1e-7], [1 - 1e-7, 0.3]], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(phi(x).sum(), x)
    np.testing.assert_allclose(grad.numpy(), [[0, 1], [-1, 0]], atol=1e-5)


@pytest.mark.parametrize("name", DOMAINS)
@pytest.mark.parametrize("m", [1, 2])
def test_second_derivatives_finite_inside(name, m):
    phi = adf(name, m)
    x = interior(phi, 64).requires_grad_(True)
    value, grad, lap = phi.derivatives(x)
    (g,) = torch.autograd.grad(phi(x).sum(), x, create_graph=True)
    H = torch.stack([torch.autograd.grad(g[:, k].sum(), x, retain_graph=True)[0] for k in range(2)], dim=1)
    assert torch.isfinite(H).all() and torch.isfinite(g).all()
    torch.testing.assert_close(grad, g.detach())
    torch.testing.assert_close(lap, H.diagonal(dim1=1, dim2=2).sum(-1).detach())
    torch.testing.assert_close(value, phi(x).detach())


def test_gradients_on_the_boundary_are_finite():
    phi = adf("square")
    x = torch.from_numpy(on_segments(SQUARE)).requires_grad_(True)
    (g,) = torch.autograd.grad(phi(x).sum(), x, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), x)
    assert torch.isfinite(g).all() and torch.isfinite(gg).all()


def test_chunks_give_the_same_values(monkeypatch):
    phi = adf("ellipse_with_hole")
    x = torch.rand(300, 2, dtype=torch.float64)
    whole = phi(x)
    monkeypatch.setattr(geometry, "_CHUNK_ENTRIES", 1000)
    torch.testing.assert_close(phi(x), whole, rtol=0, atol=0)
    assert phi(x[:0]).shape == (0,)


def test_float32_agrees_with_float64():
    phi = adf("ellipse_with_hole")
    x = interior(phi, 200)
    torch.testing.assert_close(phi(x.float()).double(), phi(x), rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda():
    phi = DistanceFunction(SQUARE).to("cuda")
    x = torch.rand(100, 2, dtype=torch.float64)
    torch.testing.assert_close(phi(x.cuda()).cpu(), phi.cpu()(x))


def test_dirichlet_transform_matches_g_on_the_boundary():
    phi = DistanceFunction(SQUARE)
    x = torch.from_numpy(on_segments(SQUARE))
    N = torch.randn(len(x), 1, dtype=torch.float64)
    g = x[:, :1] ** 2 + 1.0
    u = dirichlet_transform(phi(x), N, g)
    assert u.shape == (len(x), 1)
    torch.testing.assert_close(u, g, rtol=0, atol=1e-12)
    assert dirichlet_transform(phi(x), N[:, 0]).shape == (len(x),)
    with pytest.raises(ValueError, match="phi must have shape"):
        dirichlet_transform(phi(x), N[:5])


@pytest.mark.parametrize(("segments", "kwargs", "match"), [
    (np.zeros((3, 2)), {}, r"shape \(S, 2, 2\)"),
    (np.zeros((0, 2, 2)), {}, r"S >= 1"),
    (np.array([[[0, 0], [0, 0]], [[0, 0], [1, 0]]], dtype=float), {}, "1 segment.*zero length"),
    (np.array([[[0, np.nan], [1, 0]]]), {}, "non-finite"),
    (SQUARE, {"m": 0}, "integer >= 1"),
    (SQUARE, {"m": 1.5}, "integer >= 1"),
])
def test_bad_segments(segments, kwargs, match):
    with pytest.raises(ValueError, match=match):
        DistanceFunction(segments, **kwargs)


def test_bad_points():
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        DistanceFunction(SQUARE)(torch.zeros(4, 3))


def test_geometry_leaves_dolfinx_out():
    code = ("import json, sys, hybrid.geometry; "
            "print(json.dumps([m for m in ('dolfinx', 'petsc4py', 'fem', 'ufl') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
