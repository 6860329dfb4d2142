"""The registry of methods: a name on the command line -> a method class and its fixed options.

A new method is one file in this folder plus one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from inverse.method import AbstractMethod
from inverse.methods.adjoint import Adjoint as Adjoint
from inverse.methods.adjoint_nn import AdjointNN as AdjointNN
from inverse.methods.bilo import BiLO as BiLO
from inverse.methods.bpn import BPN as BPN
from inverse.methods.deeponet import DeepONet as DeepONet
from inverse.methods.fno import FNO as FNO
from inverse.methods.pinn import PINN as PINN

METHODS: Mapping[str, tuple[type[AbstractMethod], Mapping[str, Any]]] = MappingProxyType(
    {
        "bilo": (BiLO, {}),
        "pinn": (PINN, {}),
        "bpn": (BPN, {}),
        "adjoint": (Adjoint, {"optimizer": "tao"}),
        "adjoint_tao": (Adjoint, {"optimizer": "tao"}),
        "adjoint_gd": (Adjoint, {"optimizer": "gd"}),
        "adjoint_newton": (Adjoint, {"optimizer": "bnls"}),
        "adjoint_nn": (AdjointNN, {}),
        "deeponet": (DeepONet, {}),
        "fno": (FNO, {}),
    }
)
"""name -> (class, fixed options). ``adjoint`` and ``adjoint_tao`` are the same method."""
