"""Declare an inverse problem once, solve it with every method.

The layer above ``fem`` (DOLFINx), ``hybrid`` (torch) and ``adjoint`` (PETSc) and below the
comparisons. Usage::

    from inverse import BiLO, PINN, Adjoint, solve

    problem = MyProblem()                      # an AbstractInverseProblem (see README)
    result = solve(problem, BiLO(config=my_bilo_config), noise=0.01)
    result.estimate, result.cost, result.history

A comparison runs seeds × methods on the same data and writes one report::

    report, results = run_study(Study(problem=problem, configs={"bilo": ...}), methods, ...)
"""

import hybrid  # noqa: F401 - first, so the OpenMP wait policy is set before torch loads (hybrid/threads.py)
from inverse.adjoint_bridge import AdjointConfig as AdjointConfig
from inverse.cli import Comparison as Comparison
from inverse.cli import ProblemFlag as ProblemFlag
from inverse.datasets import ParameterGrid as ParameterGrid
from inverse.datasets import PriorSamples as PriorSamples
from inverse.datasets import operator_dataset as operator_dataset
from inverse.discretisation import Discretisation as Discretisation
from inverse.discretisation import SpaceTimeGrid as SpaceTimeGrid
from inverse.discretisation import TimeInterval as TimeInterval
from inverse.method import AbstractMethod as AbstractMethod
from inverse.method import Cost as Cost
from inverse.method import InverseData as InverseData
from inverse.method import InverseResult as InverseResult
from inverse.method import RunOptions as RunOptions
from inverse.methods import METHODS as METHODS
from inverse.methods import PINN as PINN
from inverse.methods import Adjoint as Adjoint
from inverse.methods import AdjointNN as AdjointNN
from inverse.methods import BiLO as BiLO
from inverse.methods import DeepONet as DeepONet
from inverse.metrics import RelativeSquaredError as RelativeSquaredError
from inverse.metrics import ThresholdAccuracy as ThresholdAccuracy
from inverse.problem import AbstractFieldMetric as AbstractFieldMetric
from inverse.problem import AbstractInverseProblem as AbstractInverseProblem
from inverse.report import Report as Report
from inverse.runner import Study as Study
from inverse.runner import evaluate as evaluate
from inverse.runner import make_data as make_data
from inverse.runner import run_study as run_study
from inverse.runner import solve as solve
from inverse.unknowns import Field as Field
from inverse.unknowns import Scalars as Scalars
