"""The run machinery shared by BiLO and the PINN: set-up, update, loop, checkpoints, result."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, final

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .checkpoint import digest, load_checkpoint, save_checkpoint
from .config import CheckpointConfig, Derivatives, FunctionNetworkConfig, NetworkConfig
from .distributed import DataParallel
from .history import History
from .inputs import FitData, points_array, theta_vector, validate
from .likelihood import (
    Likelihood,
    PointProcessLikelihood,
    SegmentationLikelihood,
    point_process_loss,
    segmentation_loss,
)
from .local_operator import HybridModel
from .mesh_field import FunctionMesh
from .objectives import fit_term, interface_terms
from .problem import AbstractFunctionPDE, AbstractPDE
from .threads import ensure_threads

Callback = Callable[[dict[str, Any]], None]
PHASES = ("pretrain", "finetune")
Group = tuple[list[nn.Parameter], Tensor, torch.optim.Optimizer]


class DivergenceError(RuntimeError):
    """A loss or gradient became non-finite; the message names the phase, step and loss.

    The losses are reduced over the ranks before the check, so every rank raises it alike.
    """

    collective = True


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The given device, else CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    """float32 by default; accepts ``"float32"``, ``"float64"`` or a torch dtype."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, str):
        table = {"float32": torch.float32, "float64": torch.float64}
        if dtype not in table:
            raise ValueError(f"dtype must be one of {sorted(table)}, got {dtype!r}")
        return table[dtype]
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


@final
@dataclass(frozen=True, kw_only=True, eq=False)
class FitResult:
    """Outcome of ``BiLO.fit`` or ``PINN.fit``.

    Attributes:
        theta: Inferred scalar unknowns name -> value (empty for a function unknown).
        history: Logged rows (step, phase, time, losses, theta_<name>, fidelity entries).
        wall_s: Wall time of both phases (over the interrupted runs too, when resumed).
        steps: Fine-tuning steps completed (counting those before a resume).
        pretrain_steps: Pre-training steps completed (0 when started from ``pretrained``).
        s_per_step: Seconds per fine-tuning step in this call (NaN if none ran).
        model: The trained model (network and unknowns), for further use from torch.
    """

    theta: dict[str, float]
    history: list[dict[str, Any]]
    wall_s: float
    steps: int
    pretrain_steps: int
    s_per_step: float
    model: HybridModel = field(repr=False)

    def _tensor(self, x: np.ndarray, d: int | None = None) -> Tensor:
        p = next(self.model.parameters())
        a = np.asarray(x, dtype=np.float64)
        d = self.model.pde.input_dim if d is None else d
        if a.ndim != 2 or a.shape[1] != d:
            raise ValueError(f"x must have shape (N, {d}), got {a.shape}")
        return torch.as_tensor(a, dtype=p.dtype, device=p.device)

    def predict(self, x: np.ndarray, theta: Mapping[str, float] | np.ndarray | None = None) -> np.ndarray:
        """u at points x (N, d) -> (N,) float64, at the inferred or at a given θ.

        Args:
            x: Points (N, d).
            theta: Scalar unknowns to evaluate the local operator at (BiLO: u(x, θ) for any θ;
                PINN: only the output transform sees it). None: the inferred values.
        """
        xt = self._tensor(x)
        th = None
        if theta is not None:
            if self.model.is_function:
                raise ValueError("theta cannot be given for a function unknown")
            th = torch.as_tensor(theta_vector(self.model.pde, theta), dtype=xt.dtype, device=xt.device)
        return self.model.predict(xt, th).cpu().double().numpy()

    def function(self, x: np.ndarray) -> np.ndarray:
        """The inferred unknown function f_V at its coordinates x (N, k) -> (N,) float64.

        k is the number of the strong form's ``field_dims()`` (the input dimension unless the
        function depends on some coordinates only, e.g. an initial condition u0(x)).
        """
        if not self.model.is_function:
            raise TypeError("the problem has scalar unknowns, not a function")
        with torch.no_grad():
            return self.model.field(self._tensor(x, len(self.model.field_columns))).cpu().double().numpy()


@final
class Run:
    """One fit: model, data, counts, history, checkpoints, and the update/loop primitives."""

    def __init__(self, pde: AbstractPDE, x_res: np.ndarray, x_dat: np.ndarray, u_dat: np.ndarray,
                 theta_init: Mapping[str, float] | np.ndarray, u_ref: np.ndarray | None,
                 x_ref: np.ndarray | None, *, embed: bool, network: NetworkConfig,
                 function_network: FunctionNetworkConfig, log_every: int, derivatives: Derivatives,
                 device: str | torch.device | None, dtype: str | torch.dtype | None, seed: int,
                 progress: bool, callback: Callback | None, checkpoint: CheckpointConfig | None,
                 out_dir: Path | str | None, comm: Any | None, pretrained: FitResult | None = None,
                 x_bc: np.ndarray | None = None, u_bc: np.ndarray | None = None,
                 x_reg: np.ndarray | None = None, config: Any = None,
                 likelihood: Likelihood | None = None, function_mesh: FunctionMesh | None = None) -> None:
        self.t0 = time.perf_counter()
        self.dp = DataParallel(comm)
        ensure_threads(comm)
        self.device, self.dtype = resolve_device(device), resolve_dtype(dtype)
        self.data: FitData = validate(pde, x_res, x_dat, u_dat, theta_init, u_ref, x_ref, x_bc=x_bc,
                                      u_bc=u_bc, device=self.device, dtype=self.dtype,
                                      allow_empty=self.dp.active)
        if self.dp.agree(self.data.x_bc is not None) and self.data.x_bc is None:
            # Another rank has boundary points: this one holds none, but must add the (zero) term
            # too, so that every rank reduces the same losses.
            empty = torch.zeros((0, int(pde.input_dim)), dtype=self.dtype, device=self.device)
            self.data = replace(self.data, x_bc=empty, u_bc=empty[:, 0])
        self.x_reg: Tensor | None = None
        if x_reg is not None:
            if not isinstance(pde, AbstractFunctionPDE):
                raise ValueError("x_reg applies to a function unknown only")
            k = len(pde.field_dims())
            self.x_reg = torch.as_tensor(points_array("x_reg", x_reg, k, allow_empty=self.dp.active),
                                         dtype=self.dtype, device=self.device)
        self.n_reg = self.dp.global_count(0 if self.x_reg is None else self.x_reg.shape[0])
        d_in = int(pde.input_dim)
        # Quadrature and interface points are the problem's, not the data's: one rank holds
        # them, so that the sum of the ranks' losses counts them once.
        mine = not self.dp.active or self.dp.rank == 0
        self.likelihood = likelihood
        self.x_quad = self.w_quad = None
        self.positives: Tensor | None = None
        if isinstance(likelihood, SegmentationLikelihood):
            masks = likelihood.masks(self.data.u_dat.detach().cpu().numpy())
            # Σ_j m_kj² over all ranks: each rank's loss is then its share of the global one
            counts = self.dp.allgather(masks.sum(axis=1).tolist())
            self.positives = torch.as_tensor(np.maximum(np.sum(counts, axis=0), 1.0), dtype=self.dtype,
                                             device=self.device)
        if isinstance(likelihood, PointProcessLikelihood) and mine:
            xq = points_array("likelihood.x_quad", likelihood.x_quad, d_in, allow_empty=False)
            self.x_quad = torch.as_tensor(xq, dtype=self.dtype, device=self.device)
            self.w_quad = torch.as_tensor(np.asarray(likelihood.w_quad), dtype=self.dtype, device=self.device)
        interface = pde.interface_points()
        self.x_int: Tensor | None = None
        self.n_int = 0
        if interface is not None:
            pts = points_array("interface_points()", interface, d_in, allow_empty=False)
            self.n_int = len(pts)
            self.x_int = torch.as_tensor(pts if mine else pts[:0], dtype=self.dtype, device=self.device)
        torch.manual_seed(seed)
        np.random.seed(seed)
        self.model = HybridModel(pde, self.data.theta0, embed=embed, network=network,
                                 function_network=function_network, derivatives=derivatives,
                                 function_mesh=function_mesh).to(self.device, self.dtype)
        self.obs_names: tuple[str, ...] = ()
        if isinstance(likelihood, SegmentationLikelihood):
            # The data's own unknowns (thresholds): upper level only, saved with the model.
            self.obs_names = likelihood.names
            self.model.register_parameter("observation", nn.Parameter(torch.as_tensor(
                likelihood.init, dtype=self.dtype, device=self.device)))
        # Ranks must start from identical weights (including random Fourier features).
        self.dp.broadcast([t for t in self.model.state_dict().values() if t.is_floating_point()])
        d = self.data
        self.n_res = self.dp.global_count(d.x_res.shape[0])
        self.n_dat = self.dp.global_count(d.x_dat.shape[0])
        self.n_ref = self.dp.global_count(0 if d.x_ref is None else d.x_ref.shape[0])
        self.n_bc = self.dp.global_count(0 if d.x_bc is None else d.x_bc.shape[0])
        if min(self.n_res, self.n_dat) == 0:
            raise ValueError("x_res and x_dat must hold at least one point over all ranks")
        self.seed = seed
        batch = getattr(config, "res_batch", None)
        self.batch_local: int | None = None
        self.n_batch = self.n_res
        if batch is not None and batch < self.n_res:
            # each rank's share of a batch is in proportion to its points
            n_local = d.x_res.shape[0]
            self.batch_local = min(n_local, round(batch * n_local / self.n_res))
            self.n_batch = self.dp.global_count(self.batch_local)
        if d.x_bc is not None and self.n_bc == 0:
            raise ValueError("x_bc must hold at least one point over all ranks when given")
        self.names = tuple(pde.param_names)
        self.log_every = max(1, log_every)
        self.progress = progress and self.dp.rank == 0
        self.callback = callback
        self.ckpt = checkpoint
        self.out_dir = out_dir
        self.history = History()
        self.phase_step: dict[str, int] = {}
        self.elapsed_before = 0.0
        self.t_phase = self.t_step = self.t0
        self.phase_start = 0
        self.last_checkpoint: Path | None = None
        self.finetune_time = 0.0
        self.finetune_steps_run = 0
        self.resume_state: dict[str, Any] | None = None
        self.skip: set[str] = set()
        if pretrained is not None:
            # Fine-tune from a finished pre-training (as the authors restore the pre-trained net):
            # its weights, the unknowns reset to θ0, fresh optimisers, no pre-training here.
            theta0 = None if self.model.theta is None else self.model.theta.detach().clone()
            try:
                self.model.load_state_dict(pretrained.model.state_dict())
            except RuntimeError as exc:
                raise ValueError(f"pretrained does not match this method/config/problem: {exc}") from exc
            if theta0 is not None:
                theta = self.model.theta
                assert theta is not None  # the same model: θ did not vanish in load_state_dict
                with torch.no_grad():
                    theta.copy_(theta0)
            if isinstance(likelihood, SegmentationLikelihood):
                with torch.no_grad():
                    self.observation_parameters()[0].copy_(torch.as_tensor(likelihood.init))
            self.skip.add("pretrain")
        self.fingerprint: dict[str, str] = {}
        if checkpoint is not None:
            arrays = (x_res, x_dat, u_dat, theta_init, u_ref, x_ref, x_bc, u_bc, x_reg, likelihood,
                      function_mesh)
            self.fingerprint = {
                "problem": digest(pde),
                # each rank holds its own share of the points: the digest of all of them
                "data": digest(self.dp.allgather(digest(arrays))),
                "method config": digest((config, embed, network, function_network, log_every, derivatives)),
                "seed": str(seed), "ranks": str(self.dp.size), "dtype": str(self.dtype)}
        if checkpoint is not None and checkpoint.resume:
            state = load_checkpoint(checkpoint.dir, self.fingerprint)
            if state is not None:
                self.model.load_state_dict(state["model"])
                self.history = History(state["history"])
                self.phase_step = {state["phase"]: state["step"], **state.get("done", {})}
                # Phases before the checkpointed one are finished (or were skipped).
                self.skip |= set(PHASES[:PHASES.index(state["phase"])])
                self.elapsed_before = state["elapsed"]
                self.finetune_time = state.get("finetune_time", 0.0)
                self.finetune_steps_run = state.get("finetune_steps_run", 0)
                self.resume_state = state
                self.last_checkpoint = Path(checkpoint.dir)

    # -- primitives -------------------------------------------------------------------------
    def residual_points(self, phase: str, step: int) -> tuple[Tensor, int]:
        """This step's residual points and their global count: all of ``x_res``, or a fresh batch.

        A batch is drawn from a generator seeded by (seed, rank, phase, step), so a resumed run
        draws the batches the uninterrupted one would have.
        """
        x = self.data.x_res
        if self.batch_local is None:
            return x, self.n_res
        state = np.random.SeedSequence([self.seed, self.dp.rank, PHASES.index(phase), step]).generate_state(1)
        gen = torch.Generator().manual_seed(int(state[0]))
        idx = torch.randperm(x.shape[0], generator=gen)[: self.batch_local]
        return x[idx.to(x.device)], self.n_batch

    def regularizer_points(self) -> tuple[Tensor, int, bool]:
        """(points, global count, in field coordinates) where the function's regulariser is evaluated."""
        if self.x_reg is not None:
            return self.x_reg, self.n_reg, True
        return self.data.x_res, self.n_res, False

    def observation_parameters(self) -> list[nn.Parameter]:
        """The likelihood's own unknowns (a segmentation's thresholds), trained with θ; often none."""
        p = getattr(self.model, "observation", None)
        return [p] if isinstance(p, nn.Parameter) else []

    def upper_parameters(self) -> list[nn.Parameter]:
        """What the upper level trains: θ (or V) and the likelihood's own unknowns."""
        return self.model.unknowns() + self.observation_parameters()

    def data_term(self) -> Tensor:
        """The upper level's data loss: the MSE to u_dat, the point-process NLL / K, or the masks' loss."""
        m, d = self.model, self.data
        if self.likelihood is None:
            return fit_term(m, d.x_dat, d.u_dat, self.n_dat)
        if isinstance(self.likelihood, SegmentationLikelihood):
            assert self.positives is not None
            thresholds = self.observation_parameters()[0]
            return segmentation_loss(m.u(d.x_dat, m.expand(d.x_dat)), d.u_dat, thresholds,
                                     sharpness=self.likelihood.sharpness, positives=self.positives)
        u_quad = None if self.x_quad is None else m.u(self.x_quad, m.expand(self.x_quad))
        return point_process_loss(u_quad, self.w_quad, m.u(d.x_dat, m.expand(d.x_dat)),
                                  snapshots=self.likelihood.snapshots, count=self.n_dat)

    def interface_losses(self, *, with_jgrad: bool) -> dict[str, Tensor]:
        """``jump`` (and ``djump``) at the problem's interface points; empty if it has none."""
        if self.x_int is None:
            return {}
        return interface_terms(self.model, self.x_int, self.n_int, with_jgrad=with_jgrad)

    def theta_row(self) -> dict[str, float]:
        """:meth:`theta_values` as ``{"theta_<name>": value}``."""
        return {f"theta_{n}": v for n, v in self.theta_values().items()}

    def theta_values(self) -> dict[str, float]:
        """θ (none for function unknowns) and the likelihood's own unknowns, by name."""
        out = {} if self.model.theta is None else {
            n: float(v) for n, v in zip(self.names, self.model.theta.detach().cpu(), strict=True)}
        for p in self.observation_parameters():
            out.update({n: float(v) for n, v in zip(self.obs_names, p.detach().cpu(), strict=True)})
        return out

    def update(self, groups: list[Group], losses: dict[str, Tensor], *, phase: str,
               step: int) -> tuple[dict[str, float], list[list[Tensor]]]:
        """Give each parameter group the gradient of its own loss only, sync, check, and step.

        Each group is (parameters, loss, optimiser). Gradients are taken with
        ``torch.autograd.grad`` per group rather than ``.backward()`` on a sum, so the lower-level
        loss can never leak into θ and the data loss never into W.

        Returns:
            The (global) loss values and the (summed) gradients per group.
        """
        grads: list[list[Tensor]] = []
        for i, (params, loss, _) in enumerate(groups):
            raw = torch.autograd.grad(loss, params, allow_unused=True, retain_graph=i < len(groups) - 1)
            grads.append([torch.zeros_like(p) if g is None else g for p, g in zip(params, raw, strict=True)])
        names = list(losses)
        values = torch.stack([losses[n].detach() for n in names])
        self.dp.allreduce_sum([g for gs in grads for g in gs] + [values])
        vals = dict(zip(names, values.tolist(), strict=True))
        bad = [n for n, v in vals.items() if not np.isfinite(v)]
        # One reduction (one device sync) for all gradients.
        if not bad and not bool(torch.stack([torch.isfinite(g).all() for gs in grads for g in gs]).all()):
            bad = ["gradient"]
        if bad:
            where = self.last_checkpoint if self.last_checkpoint is not None else "none written"
            what = ", ".join(f"{n} loss = {vals[n]}" if n in vals else "gradient" for n in bad)
            raise DivergenceError(f"{phase} step {step}: non-finite {what}; last good checkpoint: {where}")
        for (params, _, opt), gs in zip(groups, grads, strict=True):
            for p, g in zip(params, gs, strict=True):
                p.grad = g
            opt.step()
        return vals, grads

    def save(self, phase: str, step: int, optimizers: list[torch.optim.Optimizer]) -> None:
        """Write a checkpoint (rank 0 only)."""
        assert self.ckpt is not None
        if self.dp.rank == 0:
            done = {k: v for k, v in self.phase_step.items() if k != phase}
            save_checkpoint(self.ckpt.dir, {
                "phase": phase, "step": step, "done": done, "model": self.model.state_dict(),
                "optimizers": [o.state_dict() for o in optimizers], "history": self.history.rows,
                "elapsed": self.elapsed_before + time.perf_counter() - self.t0,
                "finetune_time": self.finetune_time + (self.t_step - self.t_phase
                                                       if phase == "finetune" else 0.0),
                "finetune_steps_run": self.finetune_steps_run + (step - self.phase_start
                                                                 if phase == "finetune" else 0),
                "fingerprint": self.fingerprint})
        self.last_checkpoint = Path(self.ckpt.dir)

    def run_phase(self, phase: str, steps: int, offset: int, optimizers: list[torch.optim.Optimizer],
                  step_fn: Callable[[int], dict[str, float]]) -> None:
        """Run ``step_fn(k)`` for k = start+1..steps with logging, progress and checkpoints.

        ``offset`` is the number of steps of earlier phases; checkpoints count global steps.
        A resumed run starts after the checkpointed step, with the saved optimiser states.
        """
        if phase in self.skip:
            return
        start = self.phase_step.get(phase, 0)
        state = self.resume_state
        if state is not None and state["phase"] == phase:
            for opt, s in zip(optimizers, state["optimizers"], strict=True):
                opt.load_state_dict(s)
            self.resume_state = None
        if start >= steps:
            return
        bar = tqdm(range(start + 1, steps + 1), desc=phase, disable=not self.progress, leave=False)
        t_phase = self.t_phase = time.perf_counter()
        self.phase_start = start
        for k in bar:
            entries = step_fn(k)
            self.t_step = time.perf_counter()
            self.phase_step[phase] = k
            logged = k % self.log_every == 0 or k == steps
            if logged or self.callback is not None:
                row = {"step": k, "phase": phase,
                       "time": self.elapsed_before + time.perf_counter() - self.t0,
                       **entries, **self.theta_row()}
                if logged:
                    self.history.append(row)
                    if self.progress:
                        shown = {n: f"{v:.3g}" for n, v in row.items() if n not in ("step", "phase", "time")}
                        bar.set_postfix(shown, refresh=False)
                if self.callback is not None:
                    self.callback(row)
            # and at the end of each phase, so that resuming a finished fit runs no step
            if self.ckpt is not None and ((offset + k) % self.ckpt.every == 0 or k == steps):
                self.save(phase, k, optimizers)
        bar.close()
        if phase == "finetune":
            # up to the end of the last step, as the phase-end checkpoint records it
            self.finetune_time += self.t_step - t_phase
            self.finetune_steps_run += steps - start

    def finish(self) -> FitResult:
        """Write the history (rank 0, if ``out_dir``) and build the result."""
        if self.out_dir is not None and self.dp.rank == 0:
            self.history.write(self.out_dir)
        n_ft = self.finetune_steps_run
        return FitResult(theta=self.theta_values(), history=self.history.rows,
                         wall_s=self.elapsed_before + time.perf_counter() - self.t0,
                         steps=self.phase_step.get("finetune", 0),
                         pretrain_steps=self.phase_step.get("pretrain", 0),
                         s_per_step=self.finetune_time / n_ft if n_ft else float("nan"), model=self.model)


def adam(groups: list[dict[str, Any]], *, amsgrad: bool) -> torch.optim.Adam:
    """Adam over the given parameter groups (those with no parameters are dropped)."""
    groups = [g for g in groups if g["params"]]
    if not groups:
        # An optimiser with nothing to do (e.g. θ frozen); a dummy keeps the loop uniform.
        groups = [{"params": [nn.Parameter(torch.zeros(()))], "lr": 0.0}]
    return torch.optim.Adam(groups, amsgrad=amsgrad)
