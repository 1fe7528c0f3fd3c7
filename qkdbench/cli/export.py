"""``qkdbench export``: the stochastic program in other tools' formats."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..exceptions import InputError

__all__ = ["add_parsers", "cmd_export"]

#: Layouts ``export`` writes: SMPS (core, time, stoch), or one MPS file per scenario.
LAYOUTS = ("smps", "mps")


def cmd_export(args: argparse.Namespace) -> int:
    """Write an instance's two-stage program as SMPS or per-scenario MPS files.

    Parameters
    ----------
    args : argparse.Namespace
        ``layout``, ``instance``, ``directory`` and ``name``.

    Returns
    -------
    int
        0; one line on standard error names the files written.

    Raises
    ------
    InputError
        For an unreadable instance, a directory that cannot be made, or an instance
        the scenario program cannot state (too many scenarios without joint ones).
    """
    from ..exact.smps import write_scenario_mps, write_smps
    from ..io import read_instance

    out = Path(args.directory)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: not a directory")
    inst = read_instance(args.instance)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot make the directory ({exc.strerror or exc})") from None
    if args.layout == "smps":
        files = write_smps(inst, out, args.name)
    else:
        files = write_scenario_mps(inst, out)
    print(f"wrote {len(files)} {args.layout} files to {out}", file=sys.stderr)
    return 0


def add_parsers(sub: Any) -> None:
    """Add ``export``.

    Parameters
    ----------
    sub : argparse subparsers action
        The ``qkdbench`` command's subcommands.
    """
    p = sub.add_parser(
        "export",
        help="write the two-stage program for other SP solvers (SMPS, per-scenario MPS)",
    )
    p.add_argument(
        "layout",
        choices=LAYOUTS,
        help="smps: NAME.cor, NAME.tim, NAME.sto (SCENARIOS DISCRETE); "
        "mps: scenNNN.mps and scenNNN_nonants.json per scenario (mpi-sppy's MPS reader)",
    )
    p.add_argument("instance", help="instance file")
    p.add_argument("directory", help="folder to write (made if missing)")
    p.add_argument(
        "--name", default=None, help="base name of the SMPS files (default: the instance's)"
    )
    p.set_defaults(func=cmd_export)
