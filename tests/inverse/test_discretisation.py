"""Discretisation.at_nodes: the point sets of a stationary problem on a user's mesh."""

import numpy as np
import pytest

fem = pytest.importorskip("fem")
pytest.importorskip("dolfinx")

from mpi4py import MPI  # noqa: E402

from inverse import Discretisation  # noqa: E402

COMM = MPI.COMM_WORLD


def test_at_nodes_on_the_unit_square():
    md = fem.rectangle(COMM, (4, 4))
    d = Discretisation.at_nodes(COMM, md, quadrature_degree=2)
    n_nodes = COMM.allreduce(len(d.x_dat))
    n_res = COMM.allreduce(len(d.x_res))
    assert n_nodes == 25 and n_res == 9  # 5×5 nodes, 3×3 of them off the boundary
    assert np.all((d.x_res[:, :2] > 0) & (d.x_res[:, :2] < 1))
    # both rules integrate 1 over the unit square, each point counted once across ranks
    assert COMM.allreduce(float(d.w_u.sum())) == pytest.approx(1.0)
    assert d.w_field is not None and COMM.allreduce(float(d.w_field.sum())) == pytest.approx(1.0)
    assert d.distributed and d.extra["V"] is not None


def test_at_nodes_takes_facet_tags_and_refuses_unknown_ones():
    # a rectangle's boundary carries tag 1: the same residual points as the whole boundary
    md = fem.rectangle(COMM, (4, 4))
    assert COMM.allreduce(len(Discretisation.at_nodes(COMM, md, dirichlet_tags=(1,)).x_res)) == 9
    with pytest.raises(fem.MeshError, match="not found"):
        Discretisation.at_nodes(COMM, md, dirichlet_tags=(7,))
