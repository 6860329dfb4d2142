"""Forward solvers that give the pretraining and validation references."""

from fem.forward.elliptic import solve_elliptic as solve_elliptic
from fem.forward.godunov import FiniteVolumeSolution as FiniteVolumeSolution
from fem.forward.godunov import solve_burgers as solve_burgers
from fem.forward.parabolic import solve_fisher_kpp as solve_fisher_kpp
from fem.forward.parabolic import solve_heat as solve_heat
from fem.forward.timeseries import TimeSeries as TimeSeries
from fem.forward.weak import EllipticSolution as EllipticSolution
from fem.forward.weak import StationarySolver as StationarySolver
from fem.forward.weak import solve_stationary as solve_stationary
from fem.forward.weak import solve_transient as solve_transient
