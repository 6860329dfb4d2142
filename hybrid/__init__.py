"""BiLO engine (torch only; never imports dolfinx).

Public API: the problem interfaces (``AbstractPDE``, ``AbstractFunctionPDE``, ``AbstractJetPDE``),
the methods (``BiLO``, ``PINN``) with their frozen configs, ``FitResult``, ``DivergenceError``,
the loss functions, the networks and ``DataParallel``.

Usage (arrays in and out are numpy float64; points have shape (N, d))::

    from hybrid import BiLO, BiLOConfig, CheckpointConfig, PINN, PINNConfig

    result = BiLO(BiLOConfig()).fit(
        problem, x_res, x_dat, u_dat, {"rD": 1.0, "rRHO": 1.0},
        u_ref=u_fem_at_theta0, x_ref=x_fem,               # pre-training target at θ0
        out_dir="runs/fk", checkpoint=CheckpointConfig(dir="runs/fk/ckpt", every=1000, resume=True))
    result.theta                                           # {"rD": ..., "rRHO": ...}
    u = result.predict(x_eval)                             # (N,) at the inferred θ
    u_other = result.predict(x_eval, theta={"rD": 2.0, "rRHO": 2.0})   # the local operator at θ
    baseline = PINN(PINNConfig()).fit(problem, x_res, x_dat, u_dat, {"rD": 1.0, "rRHO": 1.0})
"""

import os as _os

# Before torch loads its OpenMP runtime (libgomp reads this once): idle OpenMP threads spin
# 1,000 rounds (microseconds, enough to bridge the gap between one op of a step and the next)
# and then sleep, instead of libgomp's 300,000, so a run beside other busy processes does not
# lose its cores to its own spinning team (hybrid/threads.py has the measurements). A user's own
# OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "1000"

from .allocator import keep_freed_memory as keep_freed_memory  # noqa: E402

# Freed activations stay in the heap for the next step (hybrid/allocator.py; HYBRID_MALLOC=default
# or any MALLOC_*_ variable of the user's leaves glibc as it is).
keep_freed_memory()

from .bilo import BiLO as BiLO
from .bilo import FunctionGradient as FunctionGradient
from .bilo import gradient_agreement as gradient_agreement
from .checkpoint import load_checkpoint as load_checkpoint
from .checkpoint import save_checkpoint as save_checkpoint
from .config import BiLOConfig as BiLOConfig
from .config import BiLOFinetuneConfig as BiLOFinetuneConfig
from .config import CheckpointConfig as CheckpointConfig
from .config import FunctionNetworkConfig as FunctionNetworkConfig
from .config import NetworkConfig as NetworkConfig
from .config import PINNConfig as PINNConfig
from .config import PINNFinetuneConfig as PINNFinetuneConfig
from .config import PretrainConfig as PretrainConfig
from .config import RegularizerConfig as RegularizerConfig
from .distributed import DataParallel as DataParallel
from .fno import FNOConfig as FNOConfig
from .fno import GridFNO as GridFNO
from .fno import grid_points as grid_points
from .fno import invert_fno as invert_fno
from .fno import train_fno as train_fno
from .history import History as History
from .jets import AbstractFunctionJetPDE as AbstractFunctionJetPDE
from .jets import AbstractJetPDE as AbstractJetPDE
from .jets import Jet as Jet
from .jets import written_on_jets as written_on_jets
from .likelihood import Likelihood as Likelihood
from .likelihood import PointProcessLikelihood as PointProcessLikelihood
from .likelihood import SegmentationLikelihood as SegmentationLikelihood
from .likelihood import sample_point_process as sample_point_process
from .local_operator import HybridModel as HybridModel
from .losses import data_loss as data_loss
from .losses import h1_regularizer as h1_regularizer
from .losses import residual_gradient as residual_gradient
from .losses import residual_gradient_loss as residual_gradient_loss
from .losses import residual_loss as residual_loss
from .losses import tv_regularizer as tv_regularizer
from .mesh_field import FunctionMesh as FunctionMesh
from .mesh_field import PiecewiseLinearField as PiecewiseLinearField
from .networks import FourierFeatures as FourierFeatures
from .networks import FunctionNetwork as FunctionNetwork
from .networks import LocalOperator as LocalOperator
from .operators import DeepONet as DeepONet
from .operators import DeepONetConfig as DeepONetConfig
from .operators import OperatorFit as OperatorFit
from .operators import invert_operator as invert_operator
from .operators import train_deeponet as train_deeponet
from .pinn import PINN as PINN
from .problem import AbstractFunctionPDE as AbstractFunctionPDE
from .problem import AbstractPDE as AbstractPDE
from .threads import default_threads as default_threads
from .threads import set_threads as set_threads
from .training import DivergenceError as DivergenceError
from .training import FitResult as FitResult
