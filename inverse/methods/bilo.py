"""BiLO as a method of the layer: the local operator, simultaneous bilevel updates (hybrid.BiLO)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar, final

import numpy as np

import hybrid
from hybrid.config import Derivatives
from inverse.method import AbstractMethod, InverseData, InverseResult, RunOptions, non_negative, positive
from inverse.methods.networks import (
    FieldKind,
    checkpoint,
    fit_arguments,
    function_network,
    network_result,
    pretrain_options,
    pretraining_name,
    refuse_derivatives,
    refuse_field,
    refuse_w_reg,
    regularizer,
    shared_pretraining,
    strong_form,
)
from inverse.problem import AbstractInverseProblem
from inverse.unknowns import Field, Scalars


@final
@dataclass(frozen=True, kw_only=True)
class BiLO(AbstractMethod):
    """Bilevel local operator learning (paper eqs. 9–12; §2.3 for a field unknown).

    When ``config.finetune.fidelity_every > 0`` the upper-level data gradient is compared with
    the exact one of the same data loss: one adjoint solve (a field unknown) or backward sweep
    (the scalars of a transient problem, on the problem's ``gradient_problem()``), else central
    differences of FEM solves (the scalars of a stationary problem).

    Attributes:
        config: The BiLO settings of the comparison.
        w_reg: Weight of the field's regulariser (None: the config's).
        lr_theta: Learning rate of θ or V (None: the config's).
        w_rgrad: Weight of the residual-gradient loss in fine-tuning (None: the config's).
        w_djump: Weight of the jump-gradient loss of a problem with interface conditions, in
            both phases (None: the config's).
        fidelity_h: Relative step of the central differences of the stationary scalar fidelity check.
        lower_steps: Steps of W per step of θ (None: the config's; see ``BiLOFinetuneConfig``).
        field: The function unknown's representation: ``mlp``, ``fourier`` (an MLP of Fourier
            features) or ``p1`` (nodal values on the mesh); None: the config's.
        lr_theta_final: θ's (or V's) learning rate at the last step, reached by a cosine from
            ``lr_theta`` (None: the config's; see ``BiLOFinetuneConfig``).
        steps: Fine-tuning steps (None: the config's). Labels that differ only here share one
            pre-training per seed.
        pretrain_steps: Pre-training steps (None: the config's; the paper's Darcy run takes
            5,000–10,000).
        amsgrad: AMSGrad instead of Adam in both phases and both levels, as the authors' code
            (None: the config's).
        derivatives: How the residual's input derivatives are evaluated (``jet``, ``autograd``,
            ``compiled``: the jets under ``torch.compile``; None: the config's). See
            ``hybrid.config.Derivatives``.
    """

    name: ClassVar[str] = "bilo"
    config_key: ClassVar[str] = "bilo"
    likelihoods: ClassVar[tuple[type[hybrid.Likelihood], ...]] = (hybrid.PointProcessLikelihood,
                                               hybrid.SegmentationLikelihood)
    config: hybrid.BiLOConfig = dataclasses.field(default_factory=hybrid.BiLOConfig)
    w_reg: float | None = None
    lr_theta: float | None = None
    w_rgrad: float | None = None
    w_djump: float | None = None
    fidelity_h: float = 1e-3
    lower_steps: int | None = None
    field: FieldKind | None = None
    lr_theta_final: float | None = None
    steps: int | None = None
    pretrain_steps: int | None = None
    amsgrad: bool | None = None
    derivatives: Derivatives | None = None

    def __post_init__(self) -> None:
        non_negative(self.name, w_reg=self.w_reg, w_rgrad=self.w_rgrad, w_djump=self.w_djump,
                     lr_theta_final=self.lr_theta_final)
        positive(self.name, lr_theta=self.lr_theta, fidelity_h=self.fidelity_h, lower_steps=self.lower_steps,
                 steps=self.steps, pretrain_steps=self.pretrain_steps)
        # the fine-tuning config these options make checks itself (e.g. lr_theta_final ≤ lr_theta)
        # now, when the options are parsed, not when the run reaches it
        try:
            self._finetune_config()
        except ValueError as exc:
            raise ValueError(f"{self.name}: {exc}") from None

    def _finetune_config(self) -> hybrid.BiLOFinetuneConfig:
        """The config's fine-tuning settings with this method's options (the regulariser aside)."""
        fine = self.config.finetune
        return replace(
            fine,
            lr_theta=fine.lr_theta if self.lr_theta is None else self.lr_theta,
            w_rgrad=fine.w_rgrad if self.w_rgrad is None else self.w_rgrad,
            lower_steps=fine.lower_steps if self.lower_steps is None else self.lower_steps,
            lr_theta_final=fine.lr_theta_final if self.lr_theta_final is None else self.lr_theta_final,
            steps=fine.steps if self.steps is None else self.steps,
            amsgrad=fine.amsgrad if self.amsgrad is None else self.amsgrad,
        )

    def _pretrain_config(self) -> hybrid.PretrainConfig:
        """The config's pre-training settings with this method's options."""
        return pretrain_options(self.config.pretrain, self.pretrain_steps, self.amsgrad)

    def refuse(self, problem: AbstractInverseProblem) -> str | None:
        """BiLO needs the strong form only; a regularisation weight needs a field, w_djump an interface."""
        if self.w_djump is not None and problem.pde.interface_points() is None:
            return "w_djump weighs the jump-gradient loss of interface conditions; this problem has none"
        return (refuse_w_reg(problem, self.w_reg) or refuse_field(problem, self.field)
                or refuse_derivatives(problem, self.derivatives))

    def run(self, problem: AbstractInverseProblem, data: InverseData, options: RunOptions) -> InverseResult:
        """Pre-train at θ0, fine-tune W and θ (or V) simultaneously."""
        config = self.config if self.w_djump is None else replace(self.config, w_djump=self.w_djump)
        config = replace(config, function_network=function_network(config.function_network, self.field),
                         pretrain=self._pretrain_config(),
                         derivatives=config.derivatives if self.derivatives is None else self.derivatives)
        fine = self._finetune_config()
        fine = replace(fine, regularizer=regularizer(problem, fine.regularizer, self.w_reg))
        # the exact gradients below are of the squared error, not of another likelihood
        check = fine.fidelity_every > 0 and problem.likelihood() is None
        exact = self._exact_gradient(problem, data) if check else None
        pde, args = strong_form(problem, data), fit_arguments(problem, data, options, config.function_network)
        # Pre-training (θ frozen at θ0) does not see w_reg or the upper level: one per seed.
        only_pre = replace(config, finetune=hybrid.BiLOFinetuneConfig(steps=0))
        pre_ckpt = checkpoint(options, data, pretraining_name("bilo", only_pre))
        pretrained, pre_wall = shared_pretraining(
            data, ("bilo-pretraining", only_pre),
            lambda: hybrid.BiLO(only_pre).fit(pde, **args, checkpoint=pre_ckpt))
        res = hybrid.BiLO(replace(config, finetune=fine)).fit(
            pde, **args, exact_data_gradient=exact, pretrained=pretrained,
            checkpoint=checkpoint(options, data, self.label))
        return network_result(self.label, problem, data, res, pretraining=(pretrained, pre_wall))

    def _exact_gradient(
        self, problem: AbstractInverseProblem, data: InverseData
    ) -> hybrid.FunctionGradient | Callable[[np.ndarray], np.ndarray] | None:
        if isinstance(problem.unknowns, Field):
            disc = data.disc
            if disc.comm.size > 1 and not disc.distributed:
                # Each rank holds only its owned dofs of the exact derivative, and replicated
                # networks do not sum gradients over ranks: the check would see a part of it.
                return None
            if problem.unknown_initial_condition() and problem.weak_form:
                from inverse.adjoint_bridge import (
                    AdjointConfig,
                    initial_condition_functional,
                    initial_condition_gradient,
                )

                rf = initial_condition_functional(problem, disc, data.u_obs, cfg=AdjointConfig(), w_reg=0.0)
                return initial_condition_gradient(rf)
            if problem.time is not None or not problem.weak_form:
                return None
            from inverse.adjoint_bridge import data_misfit, function_gradient

            return function_gradient(data_misfit(problem, data.disc, data.u_obs))
        if problem.time is not None:
            from inverse.adjoint_bridge import AdjointConfig, scalar_gradient, transient_functional

            ref = problem.gradient_problem()
            disc = replace(ref.discretise(data.disc.comm), x_dat=data.disc.x_dat,
                           distributed=data.disc.distributed)
            return scalar_gradient(transient_functional(ref, disc, data.u_obs, cfg=AdjointConfig()))
        return scalar_data_gradient(problem, data, self.fidelity_h)


def scalar_data_gradient(
    problem: AbstractInverseProblem, data: InverseData, h: float
) -> Callable[[np.ndarray], np.ndarray]:
    """∇θ of L(θ) = mean_j (u_FEM(θ)(x_j) − d_j)², by central differences over FEM solves.

    This is the functional of BiLO's data loss with the network replaced by the FEM solution
    (on ``problem.gradient_problem()``, which may be coarser than the reference).
    """
    ref = problem.gradient_problem()
    disc = ref.discretise(data.disc.comm)
    names = problem.unknowns.names if isinstance(problem.unknowns, Scalars) else ()

    def misfit(theta: np.ndarray) -> float:
        u = ref.forward(disc, dict(zip(names, (float(t) for t in theta), strict=True)), data.disc.x_dat)
        return data.disc.global_mean((u - data.u_obs) ** 2)

    def grad(theta: np.ndarray) -> np.ndarray:
        g = np.zeros(len(theta))
        for p in range(len(theta)):
            e = np.zeros(len(theta))
            e[p] = h * max(1.0, abs(theta[p]))
            g[p] = (misfit(theta + e) - misfit(theta - e)) / (2 * e[p])
        return g

    return grad
