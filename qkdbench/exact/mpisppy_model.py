"""mpi-sppy's view of an instance: a module its ``generic_cylinders`` driver loads.

Each scenario's model is built in Pyomo from the scenario program
(:func:`~qkdbench.exact.scenario_program.build_scenario_program`), its first-stage
columns as the nonanticipative variables of the root node. Run it as::

    mpiexec -n 2 python -m mpisppy.generic_cylinders \\
        --module-name qkdbench.exact.mpisppy_model --qkdbench-instance INSTANCE.json \\
        --num-scens N --solver-name appsi_highs --default-rho 1 --max-iterations 50 \\
        --xhatshuffle --solution-base-name OUT

(the ``ph`` planner does this, and reads the result back for the evaluator). With
``--qkdbench-result FILE`` rank 0 writes the best inner and outer bounds as JSON.

This module needs the ``mpi`` extra (Pyomo, mpi-sppy, mpi4py and an MPI runtime).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..io import read_instance
from .scenario_program import ScenarioProgram, build_scenario_program

__all__ = [
    "scenario_creator",
    "scenario_names_creator",
    "inparser_adder",
    "kw_creator",
    "scenario_denouement",
    "custom_writer",
    "pyomo_scenario",
    "scenario_name",
]

_CACHE: dict[str, ScenarioProgram] = {}


def scenario_name(s: int, n: int) -> str:
    """Name of scenario ``s`` of ``n``: ``scen`` and a zero-padded number.

    Parameters
    ----------
    s, n : int
        Scenario position and count.

    Returns
    -------
    str
    """
    return f"scen{s:0{max(3, len(str(n - 1)))}d}"


def _program(path: str) -> ScenarioProgram:
    if path not in _CACHE:
        _CACHE[path] = build_scenario_program(read_instance(path))
    return _CACHE[path]


def pyomo_scenario(program: ScenarioProgram, s: int) -> Any:
    """Scenario ``s`` of ``program`` as a Pyomo model with mpi-sppy's annotations.

    Parameters
    ----------
    program : ScenarioProgram
    s : int
        Scenario position.

    Returns
    -------
    pyomo.environ.ConcreteModel
        Variables ``v[i]`` in column order, one constraint per row, the objective of the
        scenario; its root node lists the first-stage columns, and its probability is the
        scenario's.
    """
    import pyomo.environ as pyo
    from mpisppy.utils import sputils

    n = len(program.names)
    m = pyo.ConcreteModel(name=scenario_name(s, program.n_scenarios))

    def bounds(_m: Any, i: int) -> tuple[float | None, float | None]:
        lo, hi = program.lower[i], program.upper[i]
        return (None if math.isinf(lo) else float(lo), None if math.isinf(hi) else float(hi))

    def domain(_m: Any, i: int) -> Any:
        return pyo.Integers if program.integer[i] else pyo.Reals

    m.v = pyo.Var(range(n), domain=domain, bounds=bounds)
    a = program.scenario_matrix(s)
    m.rows = pyo.ConstraintList()
    for r in range(a.shape[0]):
        lo, hi = program.row_lower[r], program.row_upper[r]
        sl = slice(a.indptr[r], a.indptr[r + 1])
        body = sum(float(v) * m.v[int(c)] for c, v in zip(a.indices[sl], a.data[sl], strict=True))
        if lo == hi:
            m.rows.add(body == float(lo))
        elif math.isinf(lo):
            m.rows.add(body <= float(hi))
        else:
            m.rows.add(body >= float(lo))
    n1 = program.n_first
    m.first_cost = pyo.Expression(expr=sum(float(program.cost[i]) * m.v[i] for i in range(n1)))
    m.second_cost = pyo.Expression(expr=sum(float(program.cost[i]) * m.v[i] for i in range(n1, n)))
    m.obj = pyo.Objective(expr=m.first_cost + m.second_cost, sense=pyo.minimize)
    sputils.attach_root_node(m, m.first_cost, [m.v[i] for i in range(n1)])
    m._mpisppy_probability = float(program.probs[s])
    return m


def scenario_creator(sname: str, qkdbench_instance: str | None = None) -> Any:
    """The model of the scenario named ``sname`` (mpi-sppy's scenario creator).

    Parameters
    ----------
    sname : str
        ``scenNNN``.
    qkdbench_instance : str
        Path of the instance file.

    Returns
    -------
    pyomo.environ.ConcreteModel

    Raises
    ------
    ValueError
        Without an instance path.
    """
    if qkdbench_instance is None:
        raise ValueError("scenario_creator needs qkdbench_instance, the instance file")
    return pyomo_scenario(_program(qkdbench_instance), int(sname.removeprefix("scen")))


def scenario_names_creator(num_scens: int, start: int | None = None) -> list[str]:
    """Names of ``num_scens`` scenarios from ``start`` (zero-based).

    Parameters
    ----------
    num_scens : int
    start : int, optional

    Returns
    -------
    list of str
    """
    first = start or 0
    return [scenario_name(s, first + num_scens) for s in range(first, first + num_scens)]


def inparser_adder(cfg: Any) -> None:
    """Add the module's options: the instance file and the result file.

    Parameters
    ----------
    cfg : mpisppy.utils.config.Config
    """
    cfg.num_scens_required()
    cfg.add_to_config(
        "qkdbench_instance", description="qkdbench instance file", domain=str, default=None
    )
    cfg.add_to_config(
        "qkdbench_result",
        description="file for the bounds as JSON (rank 0)",
        domain=str,
        default=None,
    )


def kw_creator(cfg: Any) -> dict[str, Any]:
    """Keyword arguments of :func:`scenario_creator`.

    Parameters
    ----------
    cfg : mpisppy.utils.config.Config

    Returns
    -------
    dict
    """
    return {"qkdbench_instance": cfg.qkdbench_instance}


def scenario_denouement(rank: int, sname: str, scenario: Any) -> None:
    """Nothing to do per scenario at the end.

    Parameters
    ----------
    rank : int
    sname : str
    scenario : pyomo.environ.ConcreteModel
    """


def custom_writer(wheel: Any, cfg: Any) -> None:
    """On the hub's rank 0, write the best inner and outer bounds as JSON.

    Parameters
    ----------
    wheel : mpisppy.spin_the_wheel.WheelSpinner
    cfg : mpisppy.utils.config.Config
    """
    path = cfg.get("qkdbench_result", None)
    if path is None or not wheel.on_hub() or wheel.global_rank != 0:
        return
    data = {
        "inner_bound": float(wheel.BestInnerBound),
        "outer_bound": float(wheel.BestOuterBound),
    }
    Path(path).write_text(json.dumps(data), encoding="utf-8")
