"""The PINN baseline as a method of the layer (hybrid.PINN): one loss, residual + w_dat·data."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import ClassVar, final

import hybrid
from hybrid.config import Derivatives
from inverse.method import (
    AbstractMethod,
    InverseData,
    InverseResult,
    RunOptions,
    non_negative,
    positive,
)
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


@final
@dataclass(frozen=True, kw_only=True)
class PINN(AbstractMethod):
    """Physics-informed neural network: pre-train at θ0, then minimise L_res + w_dat·L_dat (+ w_reg·R).

    Pre-training does not depend on the data or regularisation weights, so the runs of one seed
    share it (the data's ``cache``): each is charged its own fine-tuning plus the shared
    pre-training.

    Attributes:
        config: The PINN settings of the comparison.
        w_dat: Weight of the data loss (None: the config's).
        w_reg: Weight of the field's regulariser (None: the config's).
        lr_theta: Learning rate of θ or V (None: the config's).
        field: The function unknown's representation (``mlp``, ``fourier``, ``p1``; None: the config's).
        steps: Fine-tuning steps (None: the config's).
        pretrain_steps: Pre-training steps (None: the config's).
        amsgrad: AMSGrad instead of Adam in both phases (None: the config's).
        derivatives: How the residual's input derivatives are evaluated (``jet``, ``autograd``,
            ``compiled``; None: the config's). See ``hybrid.config.Derivatives``.
    """

    name: ClassVar[str] = "pinn"
    config_key: ClassVar[str] = "pinn"
    likelihoods: ClassVar[tuple[type[hybrid.Likelihood], ...]] = (hybrid.PointProcessLikelihood,
                                               hybrid.SegmentationLikelihood)
    config: hybrid.PINNConfig = dataclasses.field(default_factory=hybrid.PINNConfig)
    w_dat: float | None = None
    w_reg: float | None = None
    lr_theta: float | None = None
    field: FieldKind | None = None
    steps: int | None = None
    pretrain_steps: int | None = None
    amsgrad: bool | None = None
    derivatives: Derivatives | None = None

    def __post_init__(self) -> None:
        positive(self.name, w_dat=self.w_dat, lr_theta=self.lr_theta, steps=self.steps,
                 pretrain_steps=self.pretrain_steps)
        non_negative(self.name, w_reg=self.w_reg)

    def refuse(self, problem: AbstractInverseProblem) -> str | None:
        """The PINN needs the strong form only; a regularisation weight needs a field."""
        return (refuse_w_reg(problem, self.w_reg) or refuse_field(problem, self.field)
                or refuse_derivatives(problem, self.derivatives))

    def run(self, problem: AbstractInverseProblem, data: InverseData, options: RunOptions) -> InverseResult:
        """Fine-tune from this seed's shared pre-training (made on first use)."""
        cfg = replace(self.config,
                      function_network=function_network(self.config.function_network, self.field),
                      pretrain=pretrain_options(self.config.pretrain, self.pretrain_steps, self.amsgrad),
                      derivatives=self.config.derivatives if self.derivatives is None else self.derivatives)
        fine = cfg.finetune
        fine = replace(
            fine,
            w_dat=fine.w_dat if self.w_dat is None else self.w_dat,
            lr_theta=fine.lr_theta if self.lr_theta is None else self.lr_theta,
            regularizer=regularizer(problem, fine.regularizer, self.w_reg),
            steps=fine.steps if self.steps is None else self.steps,
            amsgrad=fine.amsgrad if self.amsgrad is None else self.amsgrad,
        )
        args = fit_arguments(problem, data, options, cfg.function_network)
        only_pre = replace(cfg, finetune=hybrid.PINNFinetuneConfig(steps=0))
        pre_ckpt = checkpoint(options, data, pretraining_name("pinn", only_pre))
        pretrained, pre_wall = shared_pretraining(
            data, ("pinn-pretraining", only_pre),
            lambda: hybrid.PINN(only_pre).fit(strong_form(problem, data), **args, checkpoint=pre_ckpt))
        res = hybrid.PINN(replace(cfg, finetune=fine)).fit(
            strong_form(problem, data), **args, pretrained=pretrained,
            checkpoint=checkpoint(options, data, self.label))
        return network_result(self.label, problem, data, res, pretraining=(pretrained, pre_wall))
