"""BPN as a method of the layer: a PINN lower level, Broyden hypergradients upper (hybrid.bpn)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar, final

from hybrid import PINN
from hybrid.bpn import BPN as BPNEngine
from hybrid.bpn import BPNConfig
from inverse.method import AbstractMethod, InverseData, InverseResult, RunOptions, positive
from inverse.methods.networks import (
    checkpoint,
    fit_arguments,
    network_result,
    pretraining_name,
    shared_pretraining,
    strong_form,
)
from inverse.problem import AbstractInverseProblem
from inverse.unknowns import Field


@final
@dataclass(frozen=True, kw_only=True)
class BPN(AbstractMethod):
    """Bi-level PINN with Broyden hypergradients (Hao et al., ICLR 2023; BiLO paper App. E).

    Pre-training is the PINN's at θ0 (one per seed, shared with the PINN method when their
    network and pre-training settings agree). Then each upper iteration trains the PINN weights
    on the residual loss for ``lower_steps`` Adam steps, computes dJ/dθ of the data loss by the
    implicit function theorem with Broyden's method, and takes one Adam step on θ. The
    fine-tuning is not checkpointed (the pre-training is, like the PINN's).

    Attributes:
        config: The BPN settings of the comparison.
        lr_theta: Learning rate of θ (None: the config's).
        lower_steps: Lower-level steps per upper iteration (None: the config's).
        broyden_iterations: Broyden iterations per hypergradient (None: the config's).
    """

    name: ClassVar[str] = "bpn"
    config_key: ClassVar[str] = "bpn"
    config: BPNConfig = field(default_factory=BPNConfig)
    lr_theta: float | None = None
    lower_steps: int | None = None
    broyden_iterations: int | None = None

    def __post_init__(self) -> None:
        positive(self.name, lr_theta=self.lr_theta)
        for name in ("lower_steps", "broyden_iterations"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{self.name}: {name} must be >= 1, got {value}")

    def refuse(self, problem: AbstractInverseProblem) -> str | None:
        """BPN steps named scalars by Adam, on a lower level that is the residual loss alone."""
        if isinstance(problem.unknowns, Field):
            return "its upper level is an Adam step on named scalars; this problem's unknown is a function"
        if problem.pde.interface_points() is not None:
            return "its lower level is the residual loss alone; this problem has interface conditions"
        return None

    def run(self, problem: AbstractInverseProblem, data: InverseData, options: RunOptions) -> InverseResult:
        """Pre-train at θ0 (shared per seed), then run the bilevel loop from a copy of it."""
        if data.disc.distributed and data.disc.comm.size > 1:
            raise ValueError("bpn runs on replicated points only; this discretisation is distributed")
        fine = self.config.finetune
        fine = replace(
            fine,
            lr_theta=fine.lr_theta if self.lr_theta is None else self.lr_theta,
            lower_steps=fine.lower_steps if self.lower_steps is None else self.lower_steps,
            broyden_iterations=(fine.broyden_iterations if self.broyden_iterations is None
                                else self.broyden_iterations),
        )
        pde, args = strong_form(problem, data), fit_arguments(problem, data, options)
        only_pre = self.config.pretraining()
        pre_ckpt = checkpoint(options, data, pretraining_name("pinn", only_pre))
        # the PINN method's cache key: the same pre-training serves both methods
        pretrained, pre_wall = shared_pretraining(
            data, ("pinn-pretraining", only_pre),
            lambda: PINN(only_pre).fit(pde, **args, checkpoint=pre_ckpt))
        res = BPNEngine(replace(self.config, finetune=fine)).fit(
            pde, args["x_res"], args["x_dat"], args["u_dat"], args["theta_init"], device=options.device,
            dtype=options.dtype, seed=data.seed, progress=args["progress"], pretrained=pretrained)
        return network_result(self.label, problem, data, res, pretraining=(pretrained, pre_wall))
