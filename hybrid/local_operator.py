"""The trainable model of one run: the network, the unknowns, and how u and r are evaluated."""

from __future__ import annotations

from typing import final

import torch
from torch import Tensor, nn

from .compiled import compiled, jet_residual
from .config import Derivatives, FunctionNetworkConfig, NetworkConfig
from .jets import (
    AbstractFunctionJetPDE,
    AbstractJetPDE,
    Jet,
    autograd_jet,
    coefficient_jet,
    detached,
    input_gradients,
    written_on_jets,
)
from .losses import residual_gradient
from .mesh_field import FunctionMesh, PiecewiseLinearField, invert_monotone
from .networks import FunctionNetwork, LocalOperator
from .problem import AbstractFunctionPDE, AbstractPDE


@final
class HybridModel(nn.Module):
    """Network u(x, θ; W) (BiLO: θ embedded; PINN: not) plus the unknowns θ or f_V.

    The two groups of trainable tensors are ``weights()`` (W, the lower level) and ``unknowns()``
    (θ or V, the upper level); they never overlap.
    """

    def __init__(self, pde: AbstractPDE, theta_init: Tensor | None, *, embed: bool,
                 network: NetworkConfig, function_network: FunctionNetworkConfig,
                 derivatives: Derivatives = "auto", function_mesh: FunctionMesh | None = None) -> None:
        super().__init__()
        self.pde = pde
        self.is_function = isinstance(pde, AbstractFunctionPDE)
        jet_ok = written_on_jets(pde)
        if derivatives in ("jet", "compiled") and not jet_ok:
            raise ValueError(f"derivatives={derivatives!r} needs an AbstractJetPDE or "
                             f"AbstractFunctionJetPDE, got {type(pde).__name__}")
        self.jet = jet_ok and derivatives != "autograd"
        self.compiled = derivatives == "compiled"
        self._coefficients: dict[tuple[object, ...], tuple[Tensor, Jet, Jet]] = {}
        n_embed = len(pde.param_names) if embed else 0
        self.net = LocalOperator(pde.input_dim, n_embed, network)
        # The input columns f_V depends on (all of them, unless e.g. an initial condition u0(x)).
        self.field_columns: tuple[int, ...] = pde.field_dims() if isinstance(pde, AbstractFunctionPDE) else ()
        self.fnet: nn.Module | None = None
        if self.is_function and function_network.kind == "p1":
            assert isinstance(pde, AbstractFunctionPDE)
            if function_mesh is None or len(self.field_columns) != 2:
                raise ValueError("a 'p1' function unknown needs a function_mesh and a function of "
                                 "2 coordinates")
            xv = torch.as_tensor(function_mesh.vertices, dtype=torch.float64)
            f0 = torch.as_tensor(function_mesh.initial, dtype=torch.float64)
            # start at f0 exactly: the raw nodal values the problem's transform maps to it
            raw0 = invert_monotone(lambda v: pde.function_transform(xv, v), f0)
            self.fnet = PiecewiseLinearField(function_mesh, raw0)
            self.theta = None
        elif self.is_function:
            self.fnet = FunctionNetwork(len(self.field_columns), function_network)
            self.theta = None
        else:
            assert theta_init is not None
            self.theta = nn.Parameter(theta_init.clone())

    def weights(self) -> list[nn.Parameter]:
        """W: the trainable network weights (including a trainable embedding)."""
        return [p for p in self.net.parameters() if p.requires_grad]

    def unknowns(self) -> list[nn.Parameter]:
        """θ (scalar unknowns) or V (the function network's weights)."""
        if self.fnet is not None:
            return list(self.fnet.parameters())
        assert self.theta is not None
        return [self.theta]

    def field(self, xf: Tensor) -> Tensor:
        """f_V (n,) at the function's own coordinates xf (n, len(pde.field_dims()))."""
        if self.fnet is None or not isinstance(self.pde, AbstractFunctionPDE):
            raise TypeError("the problem has scalar unknowns, not a function")
        return self.pde.function_transform(xf, self.fnet(xf))

    def function(self, x: Tensor) -> Tensor:
        """f_V (n,) at network inputs x (n, d): :meth:`field` of the columns it depends on."""
        if self.fnet is None:
            raise TypeError("the problem has scalar unknowns, not a function")
        cols = self.field_columns
        return self.field(x if len(cols) == x.shape[1] else x[:, list(cols)])

    def expand(self, x: Tensor, theta: Tensor | None = None) -> Tensor:
        """The per-point parameter tensor (n, p): θ repeated per point, or z = f_V(x) (n, 1).

        Args:
            x: Points (n, d).
            theta: Scalar unknowns (p,) to use instead of the trained ones.
        """
        if self.fnet is not None:
            return self.function(x).unsqueeze(-1)
        t = self.theta if theta is None else theta
        assert t is not None
        # A (stride-0) per-point view: differentiating w.r.t. it gives per-point derivatives.
        return t.expand(x.shape[0], t.shape[0])

    def u(self, x: Tensor, theta: Tensor) -> Tensor:
        """u = T(x, N(x, θ), θ) (n,) for per-point parameters ``theta`` (n, p)."""
        N = self.net(x, theta if self.net.n_params else None)
        return self.pde.output_transform(x, N, theta)

    def residual(self, x: Tensor, *, with_gradient: bool) -> tuple[Tensor, Tensor | None]:
        """Residual r (n,) at points x, and dr/dθ (n, p) if ``with_gradient``.

        Args:
            x: Points (n, d); a fresh leaf requiring grad is made from them.
            with_gradient: Also return the residual-gradient (BiLO's lower level).
        """
        if self.jet:
            return self._residual_jet(x, with_gradient)
        return self._pointwise("residual", x, with_gradient)

    def interface(self, x: Tensor, *, with_gradient: bool) -> tuple[Tensor, Tensor | None]:
        """Interface residual J (k,) at points x, and dJ/dθ (k, p) if ``with_gradient``."""
        return self._pointwise("interface_residual", x, with_gradient)

    def _pointwise(self, method: str, x: Tensor, with_gradient: bool) -> tuple[Tensor, Tensor | None]:
        """``pde.<method>(x, u, θ)`` by autograd at points x, and its θ-gradient if asked."""
        x = x.detach().requires_grad_(True)
        theta = self.expand(x)
        out = getattr(self.pde, method)(x, self.u(x, theta), theta)
        return self._checked(method, x, out, theta, with_gradient)

    def _checked(self, method: str, x: Tensor, out: Tensor, theta: Tensor,
                 with_gradient: bool) -> tuple[Tensor, Tensor | None]:
        """``out`` after checking its shape (n,), and d out/dθ if ``with_gradient``."""
        return self._check_shape(method, x, out), (residual_gradient(out, theta) if with_gradient else None)

    def _check_shape(self, method: str, x: Tensor, out: Tensor) -> Tensor:
        """``out``, after checking that ``pde.<method>`` returned one value per point (n,)."""
        if out.shape != (x.shape[0],):
            raise ValueError(f"{type(self.pde).__name__}.{method} must return shape ({x.shape[0]},), "
                             f"got {tuple(out.shape)}")
        return out

    def _field_jet(self, x: Tensor, first: tuple[int, ...], second: tuple[int, ...]) -> tuple[Jet, Tensor]:
        """The jet of z = f_V(x) and the per-point parameter tensor θ = z (n, 1).

        With an embedding (BiLO) the residual is a lower-level quantity: W's gradient does not
        depend on V through it, so z's jet is a constant and θ a fresh leaf (the residual-gradient
        dr/dz is taken with z's derivatives fixed). Without one (the PINN trains V on the
        residual too) the jet keeps f_V's graph.
        """
        if isinstance(self.fnet, FunctionNetwork):
            zj = self._network_field_jet(x, first, second)
        else:
            with torch.enable_grad():
                xg = x.detach().requires_grad_(True)
                zj = autograd_jet(xg, self.function(xg), first, second)
        if not self.net.n_params:
            return zj, zj.u.unsqueeze(-1)
        zj = detached(zj)
        theta = zj.u.unsqueeze(-1).requires_grad_(True)
        return Jet(u=theta[:, 0], du=zj.du, d2u=zj.d2u), theta

    def _network_field_jet(self, x: Tensor, first: tuple[int, ...], second: tuple[int, ...]) -> Jet:
        """The jet of z = T(x_f, v(x_f)) in the inputs x: v's jet by forward tangents, T's by the chain rule.

        x_f are the columns f depends on; T is the problem's ``function_transform``, whose partial
        derivatives (elementwise) come from autograd on its own small graph:
        ∂_i z = T_x + T_v v_i, ∂_ii z = T_xx + 2 T_xv v_i + T_vv v_i² + T_v v_ii.
        """
        pde, fnet = self.pde, self.fnet
        assert isinstance(pde, AbstractFunctionPDE) and isinstance(fnet, FunctionNetwork)
        cols = self.field_columns
        # the field's own coordinates that the residual differentiates in, by input column
        f_first = tuple(cols.index(i) for i in first if i in cols)
        f_second = tuple(cols.index(i) for i in second if i in cols)
        xf = x if len(cols) == x.shape[1] else x[:, list(cols)]
        # BiLO's lower level holds z's jet constant: no graph through f_V to build
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.net.n_params):
            v, dv, d2v = fnet.forward_jet(xf, f_first, f_second)
        with torch.enable_grad():
            xl = xf.detach().requires_grad_(True)
            vl = v if v.requires_grad else v.detach().requires_grad_(True)
            z = pde.function_transform(xl, vl)
            zx, zv = input_gradients(z, xl, vl)
            zvv = input_gradients(zv, xl, vl)[1]
        zero = torch.zeros_like(z)
        du, d2u = {}, {}
        for i in first:
            if i not in cols:
                du[i] = zero
                continue
            j = cols.index(i)
            du[i] = zx[:, j] + zv * dv[f_first.index(j)]
        for i in second:
            if i not in cols:
                d2u[i] = zero
                continue
            j = cols.index(i)
            vi, vii = dv[f_first.index(j)], d2v[f_second.index(j)]
            zxx, zxv = input_gradients(zx[:, j], xl, vl)
            d2u[i] = zxx[:, j] + 2 * zxv * vi + zvv * vi * vi + zv * vii
        return Jet(u=z, du=du, d2u=d2u)

    def _residual_jet(self, x: Tensor, with_gradient: bool) -> tuple[Tensor, Tensor | None]:
        """r and, if asked, dr/dθ by forward jets (compiled by ``torch.compile`` if so configured)."""
        pde = self.pde
        assert isinstance(pde, AbstractJetPDE | AbstractFunctionJetPDE)
        first, second = pde.jet_first(), pde.second_derivatives
        dtheta: list[Tensor] | None = None
        d2theta: list[Tensor] | None = None
        if isinstance(pde, AbstractFunctionJetPDE):
            zj, theta = self._field_jet(x, first, second)
            dtheta = [zj.du[i].unsqueeze(-1) for i in first]
            d2theta = [zj.d2u[i].unsqueeze(-1) for i in second]
        else:
            theta = self.expand(x)
        a, b = self._coefficient_jets(x)
        args = (self.net, pde, x, theta, dtheta, d2theta, a, b)
        if self.compiled and with_gradient:
            r, g = compiled("residual_and_gradient")(*args)
            return self._check_shape("residual", x, r), g
        r = compiled("residual")(*args) if self.compiled else jet_residual(*args)
        return self._checked("residual", x, r, theta, with_gradient)

    def _coefficient_jets(self, x: Tensor) -> tuple[Jet, Jet]:
        """Jets of a(x), b(x): they do not change during a run, so they are computed once per point set."""
        pde = self.pde
        assert isinstance(pde, AbstractJetPDE | AbstractFunctionJetPDE)
        # The cache holds x itself, so its storage cannot be reused by another tensor meanwhile.
        key = (x.data_ptr(), tuple(x.shape), x.dtype, x.device, x._version)
        if key not in self._coefficients:
            if len(self._coefficients) >= 8:
                self._coefficients.pop(next(iter(self._coefficients)))
            self._coefficients[key] = (x, *coefficient_jet(pde, x))
        _, a, b = self._coefficients[key]
        return a, b

    def predict(self, x: Tensor, theta: Tensor | None = None) -> Tensor:
        """u at points x (n,) with the trained unknowns or the given scalar θ (p,)."""
        with torch.no_grad():
            return self.u(x, self.expand(x, theta))

