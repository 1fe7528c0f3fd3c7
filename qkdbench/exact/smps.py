"""Export the stochastic program for other solvers: SMPS, and per-scenario MPS with nonants.

Two layouts of the program of :func:`~qkdbench.exact.scenario_program.build_scenario_program`:

* **SMPS** (:func:`write_smps`): ``NAME.cor`` (free MPS of scenario 0, first-stage
  columns and rows first), ``NAME.tim`` (``PERIODS IMPLICIT``: the first column and row
  of each stage) and ``NAME.sto`` (``SCENARIOS DISCRETE``: per scenario its probability
  and the coefficients that differ from the core). mpi-sppy's SMPS reader and other
  stochastic-programming tools read it.
* **Per-scenario MPS** (:func:`write_scenario_mps`): ``scenNNN.mps`` (the whole
  scenario, free MPS) and ``scenNNN_nonants.json`` (its probability and the names of the
  first-stage columns), the layout of mpi-sppy's MPS reader.

Integer columns sit between ``MARKER INTORG`` / ``INTEND`` lines and every integer column
has an explicit upper bound, so no reader's default bound of integers matters.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from ..model import Instance
from .scenario_program import ScenarioProgram, build_scenario_program

__all__ = ["write_smps", "write_scenario_mps", "write_mps", "SMPS_STAGES"]

#: Names of the two periods in the time and stoch files.
SMPS_STAGES: tuple[str, str] = ("STAGE1", "STAGE2")

_OBJ = "COST"


def _num(v: float) -> str:
    return repr(float(v))


def write_mps(
    program: ScenarioProgram, path: str | os.PathLike, s: int = 0, name: str = "qkdbench"
) -> None:
    """Write scenario ``s`` of ``program`` as a free-format MPS file.

    Parameters
    ----------
    program : ScenarioProgram
    path : path-like
        The file to write.
    s : int
        Scenario position (default 0, the SMPS core).
    name : str
        The ``NAME`` record.
    """
    matrix = program.scenario_matrix(s).tocsc()
    lines = [f"NAME {name}", "ROWS", f" N  {_OBJ}"]
    senses = []
    for r, rn in enumerate(program.row_names):
        lo, hi = program.row_lower[r], program.row_upper[r]
        sense = "E" if lo == hi else ("L" if math.isinf(lo) else "G")
        senses.append(sense)
        lines.append(f" {sense}  {rn}")
    lines.append("COLUMNS")
    in_int = False
    marker = 0
    for c, cn in enumerate(program.names):
        if program.integer[c] != in_int:
            kind = "INTORG" if program.integer[c] else "INTEND"
            lines.append(f"    MARKER{marker} 'MARKER' '{kind}'")
            marker += 1
            in_int = bool(program.integer[c])
        lines.append(f"    {cn} {_OBJ} {_num(program.cost[c])}")
        col = matrix.getcol(c)
        for r, v in zip(col.indices, col.data, strict=True):
            if v != 0.0:
                lines.append(f"    {cn} {program.row_names[r]} {_num(v)}")
    if in_int:
        lines.append(f"    MARKER{marker} 'MARKER' 'INTEND'")
    lines.append("RHS")
    for r, rn in enumerate(program.row_names):
        rhs = program.row_lower[r] if senses[r] == "G" else program.row_upper[r]
        if rhs != 0.0:
            lines.append(f"    RHS {rn} {_num(rhs)}")
    lines.append("BOUNDS")
    for c, cn in enumerate(program.names):
        lo, hi = program.lower[c], program.upper[c]
        if lo != 0.0:
            lines.append(f" LO BND {cn} {_num(lo)}")
        if math.isinf(hi):
            if program.integer[c]:
                lines.append(f" PL BND {cn}")
        else:
            lines.append(f" UP BND {cn} {_num(hi)}")
    lines.append("ENDATA")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _program(source: Instance | ScenarioProgram) -> ScenarioProgram:
    return source if isinstance(source, ScenarioProgram) else build_scenario_program(source)


def write_smps(
    source: Instance | ScenarioProgram, directory: str | os.PathLike, name: str | None = None
) -> list[Path]:
    """Write the program as SMPS: core, time and stoch files (``SCENARIOS DISCRETE``).

    Parameters
    ----------
    source : Instance or ScenarioProgram
        The instance (its program is built) or a built program.
    directory : path-like
        Created if missing; the three files go there.
    name : str, optional
        Base name of the files (default: the instance's name, made file-safe).

    Returns
    -------
    list of Path
        The ``.cor``, ``.tim`` and ``.sto`` files.

    Raises
    ------
    InputError
        From :func:`~qkdbench.exact.scenario_program.build_scenario_program`.

    Examples
    --------
    >>> import tempfile
    >>> from qkdbench.testing.instances import feature_instance
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [p.suffix for p in write_smps(feature_instance("coupled"), d)]
    ['.cor', '.tim', '.sto']
    """
    program = _program(source)
    base = name or _safe(program.instance.name)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    cor, tim, sto = (out / f"{base}{ext}" for ext in (".cor", ".tim", ".sto"))
    write_mps(program, cor, 0, base)
    first_col2 = int(np.flatnonzero(program.stage == 2)[0]) if (program.stage == 2).any() else None
    first_row2 = (
        int(np.flatnonzero(program.row_stage == 2)[0]) if (program.row_stage == 2).any() else None
    )
    periods = [f"    {program.names[0]} {program.row_names[0]} {SMPS_STAGES[0]}"]
    if first_col2 is not None and first_row2 is not None:
        periods.append(
            f"    {program.names[first_col2]} {program.row_names[first_row2]} {SMPS_STAGES[1]}"
        )
    tim.write_text(
        "\n".join([f"TIME {base}", "PERIODS IMPLICIT", *periods, "ENDATA"]) + "\n",
        encoding="utf-8",
    )
    lines = [f"STOCH {base}", "SCENARIOS DISCRETE"]
    core = program.coef_values[0]
    for s in range(program.n_scenarios):
        lines.append(
            f" SC SCEN{s:0{_width(program)}d} ROOT {_num(program.probs[s])} {SMPS_STAGES[1]}"
        )
        vals = program.coef_values[s]
        for e in np.flatnonzero(vals != core) if s else ():
            col = program.names[int(program.coef_cols[e])]
            row = program.row_names[int(program.coef_rows[e])]
            lines.append(f"    {col} {row} {_num(vals[e])}")
    lines.append("ENDATA")
    sto.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [cor, tim, sto]


def write_scenario_mps(
    source: Instance | ScenarioProgram, directory: str | os.PathLike
) -> list[Path]:
    """Write every scenario as ``scenNNN.mps`` with ``scenNNN_nonants.json`` beside it.

    Parameters
    ----------
    source : Instance or ScenarioProgram
    directory : path-like
        Created if missing.

    Returns
    -------
    list of Path
        The MPS files, in scenario order (zero-based, zero-padded numbers).

    Raises
    ------
    InputError
        From :func:`~qkdbench.exact.scenario_program.build_scenario_program`.
    """
    program = _program(source)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    nonants = [program.names[c] for c in range(program.n_first)]
    files = []
    for s in range(program.n_scenarios):
        sname = f"scen{s:0{_width(program)}d}"
        path = out / f"{sname}.mps"
        write_mps(program, path, s, sname)
        tree = {
            "scenarioData": {"name": sname, "scenProb": float(program.probs[s])},
            "treeData": {
                "globalNodeCount": 1,
                "nodes": {"ROOT": {"serialNumber": 0, "condProb": 1.0, "nonAnts": nonants}},
            },
        }
        (out / f"{sname}_nonants.json").write_text(json.dumps(tree, indent=1), encoding="utf-8")
        files.append(path)
    return files


def _width(program: ScenarioProgram) -> int:
    return max(3, len(str(program.n_scenarios - 1)))


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name) or "qkdbench"
