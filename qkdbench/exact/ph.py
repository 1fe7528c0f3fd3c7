"""Progressive hedging through mpi-sppy: the ``ph`` planner, for programs past one machine.

The planner writes the instance to a scratch folder and runs mpi-sppy's
``generic_cylinders`` driver under ``mpiexec -n RANKS`` with the scenario creator of
:mod:`qkdbench.exact.mpisppy_model`: a progressive-hedging hub (proximal terms
linearised, so HiGHS solves each subproblem as a MILP) with an ``xhatshuffle`` spoke
for incumbents and, from three ranks on, a Lagrangian spoke for bounds. It reads the
incumbent's first stage back, decodes it into a plan and lets the evaluator score it;
the bound is mpi-sppy's best outer bound (with two ranks the hub's trivial bound, the
expected value of the scenarios solved apart).

It needs the ``mpi`` extra: ``pip install ".[mpi]"`` from a checkout, or
``pip install "qkdbench[mpi]"`` (Pyomo, mpi-sppy, python-mip, mpi4py and Open MPI).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..evaluation import evaluate
from ..exceptions import MissingExtraError, SolverError
from ..io import write_instance
from ..model import Instance, Plan
from ..utils.gaps import proven_status, relative_gap
from ..utils.registry import FEATURES, check_supports, register_planner
from ..utils.timing import Stopwatch
from .scenario_program import build_scenario_program, decode_program

__all__ = ["ProgressiveHedgingPlanner", "MPI_EXTRA_HINT", "mpiexec_path"]

#: How to install what the planner needs.
MPI_EXTRA_HINT = (
    'install the mpi extra: pip install ".[mpi]" from a qkdbench checkout, '
    'or pip install "qkdbench[mpi]"'
)


def mpiexec_path() -> str:
    """The ``mpiexec`` beside the running Python, else the one on ``PATH``.

    Returns
    -------
    str

    Raises
    ------
    MissingExtraError
        If mpi-sppy, Pyomo or python-mip cannot be imported, or no ``mpiexec`` is found.
    """
    for module in ("mpisppy", "pyomo", "mip", "mpi4py"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(f"the ph planner needs {module}: {MPI_EXTRA_HINT}")
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if not found:
        raise MissingExtraError(f"the ph planner needs mpiexec: {MPI_EXTRA_HINT}")
    return found


@register_planner("ph", origin="built-in")
class ProgressiveHedgingPlanner:
    """Progressive hedging (mpi-sppy) over the instance's scenarios, scored by the evaluator.

    Parameters
    ----------
    ranks : int
        MPI processes (at least 2: the hub and the incumbent spoke; 3 or more add a
        Lagrangian bound spoke).
    iterations : int
        Most PH iterations.
    rho : float
        PH penalty (mpi-sppy's ``--default-rho``), > 0.

    Notes
    -----
    ``plan.stats`` holds ``status`` (``optimal`` only when the evaluator's score meets the
    bound within 1e-9 relative, else ``feasible``), ``objective`` (the evaluator's
    score), ``inner_bound`` (mpi-sppy's incumbent value, which equals it), ``bound``,
    ``bound_source`` (``"ph-trivial"`` with two ranks, ``"ph-lagrangian"`` with more),
    ``gap``, ``ranks``, ``iterations`` and ``runtime_s``. An instance without joint
    scenarios uses the product of its requests' supports (small instances only).
    ``seed`` changes nothing.

    Examples
    --------
    >>> from qkdbench.testing.instances import feature_instance
    >>> inst = feature_instance("coupled")
    >>> plan = ProgressiveHedgingPlanner(iterations=5).plan(inst)  # doctest: +SKIP
    >>> plan.stats["bound"] <= plan.stats["objective"]  # doctest: +SKIP
    True
    """

    name = "ph"
    deterministic = True
    #: left out of a comparison unless named: it needs the mpi extra and minutes
    on_request = True
    supports = frozenset(FEATURES)

    def __init__(self, ranks: int = 2, iterations: int = 30, rho: float = 1.0) -> None:
        self.ranks = ranks
        self.iterations = iterations
        self.rho = rho

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        """Run mpi-sppy and return the incumbent as a plan.

        Parameters
        ----------
        instance : Instance
        seed : int, optional
            Recorded; changes nothing.
        time_limit : float, optional
            Seconds for the whole run (mpi-sppy's own time limit, and the subprocess is
            stopped a minute after it).

        Returns
        -------
        Plan

        Raises
        ------
        MissingExtraError
            Without the ``mpi`` extra.
        SolverError
            If the run fails or returns no incumbent.
        InputError
            For bad parameters or an instance the scenario program cannot state.
        """
        from ..exceptions import InputError

        check_supports(self, instance)
        if int(self.ranks) < 2:
            raise InputError(f"ph needs at least 2 ranks, got {self.ranks!r}")
        if not self.rho > 0:
            raise InputError(f"ph needs rho > 0, got {self.rho!r}")
        mpiexec = mpiexec_path()
        clock = Stopwatch(time_limit)
        program = build_scenario_program(instance)
        with tempfile.TemporaryDirectory(prefix="qkdbench-ph-") as tmp:
            folder = Path(tmp)
            write_instance(instance, folder / "instance.json")
            cmd = [
                mpiexec,
                "--allow-run-as-root",
                "--oversubscribe",
                "-n",
                str(int(self.ranks)),
                sys.executable,
                "-m",
                "mpisppy.generic_cylinders",
                "--module-name",
                "qkdbench.exact.mpisppy_model",
                "--qkdbench-instance",
                str(folder / "instance.json"),
                "--qkdbench-result",
                str(folder / "result.json"),
                "--num-scens",
                str(program.n_scenarios),
                "--solver-name",
                "appsi_highs",
                "--default-rho",
                repr(float(self.rho)),
                "--max-iterations",
                str(int(self.iterations)),
                "--linearize-proximal-terms",
                "--linearize-binary-proximal-terms",
                "--xhatshuffle",
                "--solution-base-name",
                str(folder / "solution"),
            ]
            if int(self.ranks) >= 3:
                cmd.append("--lagrangian")
            if time_limit is not None:
                cmd += ["--time-limit", repr(float(time_limit))]
            env = dict(os.environ, OMPI_MCA_rmaps_base_oversubscribe="1")
            try:
                done = subprocess.run(
                    cmd,
                    cwd=folder,
                    capture_output=True,
                    text=True,
                    timeout=None if time_limit is None else float(time_limit) + 60.0,
                    env=env,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise SolverError(
                    "mpi-sppy did not stop within a minute of its time limit"
                ) from None
            result = folder / "result.json"
            solution = folder / "solution.npy"
            if done.returncode != 0 or not result.exists() or not solution.exists():
                tail = " ".join((done.stderr or done.stdout or "").split()[-30:])
                raise SolverError(f"mpi-sppy failed (exit {done.returncode}): {tail}")
            bounds = json.loads(result.read_text(encoding="utf-8"))
            first = np.load(solution)
        plan = decode_program(program, first, self.name)
        total = evaluate(instance, plan).total
        bound = float(bounds["outer_bound"])
        status = proven_status(total, bound)
        stats = {
            "status": status,
            "objective": total,
            "inner_bound": float(bounds["inner_bound"]),
            "bound": bound,
            "bound_source": "ph-lagrangian" if int(self.ranks) >= 3 else "ph-trivial",
            "gap": relative_gap(total, bound),
            "ranks": int(self.ranks),
            "iterations": int(self.iterations),
            "runtime_s": clock.elapsed,
            "seed": seed,
        }
        return Plan(plan.instance_name, plan.planner, plan.routes, stats)
