"""``adjoint_nn``: BiLO's own f_V network and optimiser driven by exact adjoint gradients.

The same f_V network, initial fit to f0, learning rates and step counts as BiLO, but every
step's gradient of the data loss mean_j (u(x_j) − d_j)² is the adjoint one (one forward and one
adjoint FEM solve, then the chain rule through f_V at the coefficient's nodes) instead of the
local operator's. It separates what the parameterisation and optimiser can reach in this budget
from what BiLO's approximate gradient costs. (The regulariser is left out.)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Literal, final

import numpy as np
import torch

import hybrid
from inverse.adjoint_bridge import data_misfit, function_gradient
from inverse.method import AbstractMethod, Cost, InverseData, InverseResult, RunOptions, Timer, positive
from inverse.methods.networks import function_network
from inverse.problem import AbstractInverseProblem
from inverse.unknowns import Field


@final
@dataclass(frozen=True, kw_only=True)
class AdjointNN(AbstractMethod):
    """Adam on the weights V of f_V with the exact (adjoint) data-loss gradient.

    Attributes:
        config: BiLO's settings (its function network, pre-training and fine-tuning budget).
        lr_theta: Learning rate of V (None: BiLO's).
        field: ``mlp`` or ``fourier`` (an MLP of Fourier features); None: BiLO's config. (P1
            nodal values with exact gradients are the adjoint method itself.)
        steps: Descent steps (None: BiLO's fine-tuning steps).
    """

    name: ClassVar[str] = "adjoint_nn"
    config_key: ClassVar[str] = "bilo"
    config: hybrid.BiLOConfig = dataclasses.field(default_factory=hybrid.BiLOConfig)
    lr_theta: float | None = None
    field: Literal["mlp", "fourier"] | None = None
    steps: int | None = None

    def __post_init__(self) -> None:
        positive(self.name, lr_theta=self.lr_theta, steps=self.steps)

    def refuse(self, problem: AbstractInverseProblem) -> str | None:
        """It needs a field unknown of a stationary problem (the adjoint's gradient)."""
        if problem.time is not None or not isinstance(problem.unknowns, Field):
            return "adjoint_nn needs a field unknown of a stationary problem"
        if not isinstance(problem.pde, hybrid.AbstractFunctionPDE):
            return "adjoint_nn needs the strong form's function_transform (an AbstractFunctionPDE)"
        return None

    def run(self, problem: AbstractInverseProblem, data: InverseData, options: RunOptions) -> InverseResult:
        """Fit f_V to f0, then descend the exact data-loss gradient."""
        b, disc, pde = self.config, data.disc, problem.pde
        assert isinstance(pde, hybrid.AbstractFunctionPDE)
        dp = hybrid.DataParallel(disc.comm if disc.distributed and disc.comm.size > 1 else None)
        torch.manual_seed(data.seed)
        fnet = hybrid.FunctionNetwork(len(pde.field_dims()), function_network(b.function_network, self.field))
        fnet = fnet.to(torch.float64)
        params = list(fnet.parameters())
        dp.broadcast([t for t in fnet.state_dict().values() if t.is_floating_point()])

        def f(x: np.ndarray) -> torch.Tensor:
            xt = torch.as_tensor(x, dtype=torch.float64)
            return pde.function_transform(xt, fnet(xt))

        def step(opt: torch.optim.Optimizer, out: torch.Tensor, seed_grad: torch.Tensor) -> None:
            grads = list(torch.autograd.grad(out, params, grad_outputs=seed_grad))
            dp.allreduce_sum(grads)
            for p_, g in zip(params, grads, strict=True):
                p_.grad = g
            opt.step()

        clock = Timer()
        # as BiLO's pre-training does for V: least squares to the initial guess at the residual points
        init = problem.theta_init()
        assert callable(init)
        f0 = torch.as_tensor(init(disc.x_res), dtype=torch.float64)
        n_res = dp.global_count(len(disc.x_res))
        opt = torch.optim.Adam(params, lr=b.pretrain.lr)
        for _ in range(b.pretrain.steps):
            fr = f(disc.x_res)
            step(opt, fr, 2.0 * (fr - f0).detach() / n_res)
        rf = data_misfit(problem, disc, data.u_obs)
        exact = function_gradient(rf)
        opt = torch.optim.Adam(params, lr=b.finetune.lr_theta if self.lr_theta is None else self.lr_theta)
        fine_clock = Timer()
        steps = b.finetune.steps if self.steps is None else self.steps
        for k in range(1, steps + 1):
            fv = f(exact.x)
            step(opt, fv, torch.as_tensor(exact.derivative(fv.detach().numpy())))
            if options.progress and disc.comm.rank == 0 and k % 500 == 0:
                print(f"    adjoint_nn step {k}/{steps}", flush=True)
        fine_wall, wall = fine_clock(), clock()

        def field_at(x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return f(np.asarray(x, dtype=np.float64)).numpy()

        return InverseResult(
            method=self.label,
            theta={},
            field=field_at,
            u=None,
            u_is_network=False,
            cost=Cost(
                wall_s=wall,
                steps=steps,
                s_per_step=fine_wall / max(steps, 1),
                n_forward=rf.n_forward,
                n_adjoint=rf.n_adjoint,
            ),
            diagnostics={"n_forward": float(rf.n_forward), "n_adjoint": float(rf.n_adjoint)},
        )
