import numpy as np
import pytest

from fem.metrics import relative_l2_error, trapezoid_weights

fem = pytest.importorskip("fem")


def test_relative_error_of_known_perturbation():
    ref = np.linspace(-1, 2, 11)
    w = np.random.default_rng(0).random(11) + 0.1
    assert relative_l2_error(1.1 * ref, ref, weights=w) == pytest.approx(0.1, abs=1e-15)
    assert relative_l2_error(ref, ref, weights=w) == 0.0


def test_weight_shapes():
    ref = np.ones((4, 3))
    pred = ref * 0.5
    assert relative_l2_error(pred, ref, weights=np.ones(4)) == pytest.approx(0.5)
    assert relative_l2_error(pred, ref, weights=np.ones(12)) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="do not match"):
        relative_l2_error(pred, ref, weights=np.ones(5))


@pytest.mark.parametrize("bad, match", [
    (dict(pred=np.ones(3), ref=np.ones(4), weights=np.ones(4)), "shape"),
    (dict(pred=np.array([1.0, np.nan]), ref=np.ones(2), weights=np.ones(2)), "pred contains 1 NaN"),
    (dict(pred=np.ones(2), ref=np.zeros(2), weights=np.ones(2)), "zero weighted norm"),
    (dict(pred=np.ones(2), ref=np.ones(2), weights=-np.ones(2)), "non-negative"),
])
def test_bad_input_raises(bad, match):
    with pytest.raises(ValueError, match=match):
        relative_l2_error(bad["pred"], bad["ref"], weights=bad["weights"])


def test_trapezoid_weights_integrate_linear_functions_exactly():
    bounds, shape = ((0.0, -1.0), (2.0, 3.0)), (5, 7)
    x = fem.grid_points(bounds, shape)
    w = trapezoid_weights(shape, bounds)
    assert w.sum() == pytest.approx(8.0)
    bilinear = 1 + 2 * x[:, 0] - x[:, 1] + 0.5 * x[:, 0] * x[:, 1]
    assert w @ bilinear == pytest.approx(8 + 16 - 8 + 4, rel=1e-14)
    assert trapezoid_weights(51, (0.0, 1.0)) @ np.linspace(0, 1, 51) == pytest.approx(0.5)


def test_lumped_mass_weights():
    pytest.importorskip("dolfinx")
    import dolfinx.fem
    from mpi4py import MPI

    md = fem.rectangle(MPI.COMM_WORLD, (4, 4), ((0, 0), (2, 1)))
    w = fem.lumped_mass_weights(dolfinx.fem.functionspace(md.mesh, ("Lagrange", 1)))
    assert w.sum() == pytest.approx(2.0) and (w > 0).all()
    with pytest.raises(ValueError, match="not all positive"):
        fem.lumped_mass_weights(dolfinx.fem.functionspace(md.mesh, ("Lagrange", 2)))


def test_metrics_module_does_not_import_dolfinx():
    import subprocess
    import sys

    # fem/__init__ imports dolfinx; load metrics.py on its own
    code = ("import importlib.util, sys; "
            "spec = importlib.util.spec_from_file_location('m', 'fem/metrics.py'); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            "print('dolfinx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=__import__("pathlib").Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"
