"""One gradient, three methods: on a tiny 1D Fisher–KPP problem, at θ0 = (1, 1),

* the discrete adjoint of the BDF2 steps (one backward sweep),
* central finite differences of the same FEM data loss (four forward solves),
* BiLO's upper-level gradient ∂L_data/∂θ through the local operator u(x, t, θ; W), after the
  lower level converged at θ0 (2,000 pre-training steps: residual loss ≈ 3e-4)

all estimate ∇θ of L(θ) = mean_j (u(θ)(x_j) − d_j)² with noise-free data from (2, 2).
The adjoint and the differences share the FEM, so they agree to the differences' O(h²) error
(h = 1e-4·|θ|: ≈ 1e-8 relative); BiLO's network is another discretisation, so it agrees to
its own accuracy: measured on this 2-core CPU, cosine 0.99997 and relative error 1.0 %
(seed 0), asserted with a 5× margin (cosine > 0.999, relative error < 5 %).
"""

import numpy as np
import pytest

pytest.importorskip("fem")
pytest.importorskip("dolfinx")

from mpi4py import MPI  # noqa: E402

import hybrid  # noqa: E402
from comparisons.fisher_kpp import FisherKPPProblem  # noqa: E402
from inverse.adjoint_bridge import AdjointConfig, scalar_gradient, transient_functional  # noqa: E402
from inverse.method import RunOptions  # noqa: E402
from inverse.methods import BiLO  # noqa: E402
from inverse.methods.bilo import scalar_data_gradient  # noqa: E402
from inverse.runner import make_data  # noqa: E402

THETA0 = np.array([1.0, 1.0])


@pytest.mark.slow
def test_adjoint_finite_differences_and_bilo_agree_on_the_data_gradient():
    problem = FisherKPPProblem(cells=40, steps=40, fidelity_cells=40, fidelity_steps=40, n_res=21, n_dat=6)
    disc = problem.discretise(MPI.COMM_WORLD)
    data = make_data(problem, disc, noise=0.0, seed=0)

    g_adjoint = scalar_gradient(transient_functional(problem, disc, data.u_obs, cfg=AdjointConfig()))(THETA0)
    g_fd = scalar_data_gradient(problem, data, h=1e-4)(THETA0)
    np.testing.assert_allclose(g_adjoint, g_fd, rtol=1e-6)

    # fine-tuning step 0 is checked before any update: θ = θ0, W = the pre-trained weights
    config = hybrid.BiLOConfig(network=hybrid.NetworkConfig(depth=3, width=64),
                               pretrain=hybrid.PretrainConfig(steps=2000), log_every=500,
                               finetune=hybrid.BiLOFinetuneConfig(steps=1, fidelity_every=1))
    result = BiLO(config=config).run(problem, data, RunOptions())
    (row,) = [h for h in result.history if "grad_rD" in h]
    g_bilo = np.array([row["grad_rD"], row["grad_rrho"]])
    np.testing.assert_allclose([row["grad_exact_rD"], row["grad_exact_rrho"]], g_adjoint, rtol=1e-10)
    cos = g_bilo @ g_adjoint / (np.linalg.norm(g_bilo) * np.linalg.norm(g_adjoint))
    rel = np.linalg.norm(g_bilo - g_adjoint) / np.linalg.norm(g_adjoint)
    assert cos > 0.999 and rel < 0.05, (g_bilo, g_adjoint, cos, rel)
