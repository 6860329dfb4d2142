"""The P1 representation of an unknown function: exact on affine functions, differentiable, validated."""

import numpy as np
import pytest
import torch

from hybrid.mesh_field import FunctionMesh, PiecewiseLinearField, invert_monotone


def _square(n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    s = np.linspace(0.0, 1.0, n + 1)
    X, Y = np.meshgrid(s, s, indexing="ij")
    v = np.c_[X.ravel(), Y.ravel()]
    idx = lambda i, j: i * (n + 1) + j  # noqa: E731
    t = [[idx(i, j), idx(i + 1, j), idx(i + 1, j + 1)] for i in range(n) for j in range(n)]
    t += [[idx(i, j), idx(i + 1, j + 1), idx(i, j + 1)] for i in range(n) for j in range(n)]
    return v, np.array(t)


def test_p1_field_is_exact_on_affine_functions_with_its_gradient():
    v, t = _square()
    affine = lambda x: 2.0 + 3.0 * x[:, 0] - 0.5 * x[:, 1]  # noqa: E731
    field = PiecewiseLinearField(FunctionMesh(vertices=v, triangles=t, initial=affine(v)),
                                 torch.as_tensor(affine(v))).double()
    x = torch.as_tensor(np.random.default_rng(0).random((200, 2)), dtype=torch.float64).requires_grad_(True)
    f = field(x)
    np.testing.assert_allclose(f.detach().numpy(), affine(x.detach().numpy()), atol=1e-12)
    (g,) = torch.autograd.grad(f.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), np.tile([3.0, -0.5], (200, 1)), atol=1e-12)
    # second derivatives vanish inside a cell (exists as a graph: the residual can differentiate again)
    (h,) = torch.autograd.grad(g[:, 0].sum(), x, allow_unused=True)
    assert h is None or float(h.abs().max()) == 0.0
    # at the vertices, the nodal values; outside the mesh the nearest triangle's affine function
    np.testing.assert_allclose(field(torch.as_tensor(v)).detach().numpy(), affine(v), atol=1e-12)
    out = torch.tensor([[1.0 + 1e-9, 0.5]], dtype=torch.float64)
    np.testing.assert_allclose(field(out).detach().numpy(), affine(out.numpy()), atol=1e-8)


def test_every_nodal_value_gets_its_barycentric_gradient():
    v, t = _square(2)
    field = PiecewiseLinearField(FunctionMesh(vertices=v, triangles=t, initial=np.zeros(len(v))),
                                 torch.zeros(len(v), dtype=torch.float64)).double()
    x = torch.as_tensor(np.random.default_rng(1).random((500, 2)))
    field(x).sum().backward()
    g = field.values.grad
    assert g is not None and bool((g > 0).all())  # every node's hat function covers some points
    assert float(g.sum()) == pytest.approx(500.0)  # the barycentric weights of each point sum to 1


def test_invert_monotone_finds_the_raw_values_of_a_sigmoid_map():
    target = torch.tensor([3.5, 7.5, 11.9], dtype=torch.float64)
    raw = invert_monotone(lambda z: 3.0 + 9.0 * torch.sigmoid(z), target)
    np.testing.assert_allclose((3.0 + 9.0 * torch.sigmoid(raw)).numpy(), target.numpy(), atol=1e-9)


@pytest.mark.parametrize("case, message", [
    ("shape", r"vertices \(V, 2\)"), ("index", "must index its"), ("nan", "must be finite"),
    ("flat", "degenerate"),
])
def test_function_mesh_rejects_bad_arrays(case, message):
    v, t = _square(1)
    f = np.zeros(len(v))
    if case == "shape":
        f = np.zeros(3)
    elif case == "index":
        t = t + 10
    elif case == "nan":
        v = v.copy()
        v[0, 0] = np.nan
    else:
        v = v.copy()
        v[:, 1] = 0.0
    with pytest.raises(ValueError, match=message):
        FunctionMesh(vertices=v, triangles=t, initial=f)
