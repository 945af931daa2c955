"""The iterative solver on the training physics: refine a network's object, or start flat.

``solve`` (:mod:`~ptycho_engine.solver.solve`) is the method; ``refine_reconstruction`` and
``reconstruct_iteratively`` (:mod:`~ptycho_engine.solver.workflow`) are the Python twins of
``ptycho infer --refine-iterations`` and ``ptycho reconstruct``; ``write_solver_outputs``
(:mod:`~ptycho_engine.solver.report`) writes what both commands write.
"""

from ptycho_engine.solver.report import write_solver_outputs
from ptycho_engine.solver.solve import SolverProblem, SolverResult, solve
from ptycho_engine.solver.workflow import reconstruct_iteratively, refine_reconstruction

__all__ = [
    "SolverProblem",
    "SolverResult",
    "reconstruct_iteratively",
    "refine_reconstruction",
    "solve",
    "write_solver_outputs",
]
