"""The ``qkdbench`` command line.

Commands: ``instance``, ``plan``, ``evaluate``, ``planners``, ``compare``,
``bound``, ``spfigures``, ``figure``, ``sweep``, ``library list`` / ``show`` / ``write`` /
``solve``, ``bench``, ``report``, ``rl train`` / ``rl evaluate``. Bad input exits with
status 2 and one line on standard error naming the file, the place in it and the problem.
With ``--json`` a command prints one JSON object on standard output and
nothing else there.

Exit statuses (:data:`EXIT_STATUSES`; the table of ``docs/formats.md``, section 13):
0 success; 1 only for ``evaluate`` of a plan that is scored but infeasible
(reservations over capacity, negative or fractional); 2 bad input or a bad command
line (including a route that is not a path of the instance); 3 no plan or no solve:
a missing or failing MILP solver, or ``plan`` when the planner raises or returns no
plan (status ``error``; no plan file is written); 4 an internal error (a bug of
qkdbench or of a plug-in: one line naming the exception; set ``QKDBENCH_DEBUG=1``
for the traceback); 130 interrupted; 141 standard output closed early. Every
status but 0 comes with one line on standard error.

Each family of commands adds its own subcommands: :mod:`~qkdbench.cli.instances`
(``instance``), :mod:`~qkdbench.cli.planning` (``plan``, ``evaluate``, ``planners``,
``compare``, ``bound``), :mod:`~qkdbench.cli.figures` (``spfigures``, ``figure``,
``sweep``), :mod:`~qkdbench.cli.library` (``library ...``, ``bench``, ``report``) and
:mod:`~qkdbench.cli.rl` (``rl ...``), with the options they share from
:mod:`~qkdbench.cli.options`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..exceptions import InputError, SolverError, UsageError
from . import export, figures, instances, library, planning, rl
from .options import Parser

__all__ = ["main", "build_parser", "EXIT_STATUSES"]

#: Every exit status of every command, and when (``docs/formats.md``, section 13).
EXIT_STATUSES: dict[int, str] = {
    0: "success (evaluate: the plan is feasible)",
    1: "evaluate only: the plan is scored but infeasible",
    2: "bad input or a bad command line",
    3: "no plan or no solve: the MILP solver is missing or failed; plan: the planner "
    "raised or returned no plan",
    4: "internal error (a bug): an unexpected exception",
    130: "interrupted",
    141: "standard output closed early",
}


def build_parser() -> Parser:
    """The argument parser of the ``qkdbench`` command, every subcommand included.

    Returns
    -------
    Parser
        An :class:`argparse.ArgumentParser` whose usage errors are one line (status 2);
        each subcommand sets ``func``, its handler.
    """
    from .. import __version__

    parser = Parser(
        prog="qkdbench",
        description="Plan and score QKD network resource allocation and routing "
        "(two-stage stochastic program).",
    )
    parser.add_argument("--version", action="version", version=f"qkdbench {__version__}")
    parser.add_argument(
        "--solver-log",
        metavar="FILE",
        default=None,
        help="append the MILP solver's log of every solve to FILE "
        "('-': standard error); by default the solver prints nothing",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for family in (instances, planning, figures, library, export, rl):
        family.add_parsers(sub)
    return parser


def _solver_log(command: str, path: str | None) -> bool:
    """Send every HiGHS log to ``path`` (``-``: standard error); ``False`` if unwritable."""
    if not path:
        return True
    if path != "-":  # an unwritable log is bad input, found before any run
        try:
            with Path(path).open("a", encoding="utf-8"):
                pass
        except OSError as exc:
            print(
                f"qkdbench {command}: error: {path}: cannot write the "
                f"solver log ({exc.strerror or exc})",
                file=sys.stderr,
            )
            return False
    # read by every HiGHS run, in this process and in Dask worker processes alike
    os.environ["QKDBENCH_SOLVER_LOG"] = path
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``qkdbench`` (default: the process's).

    Returns
    -------
    int
        The exit status (:data:`EXIT_STATUSES`): 0 ok, 1 an infeasible plan
        (``evaluate``, and nothing else), 2 bad input, 3 a missing or failing solver or
        a planner that raised or returned no plan (``plan``), 4 an internal error, 130
        interrupted, 141 output closed early (a broken pipe).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not _solver_log(args.command, args.solver_log):
        return 2
    try:
        return int(args.func(args) or 0)
    except (InputError, UsageError) as exc:
        print(f"qkdbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"qkdbench {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        with contextlib.suppress(OSError):
            sys.stdout = Path(os.devnull).open("w")  # noqa: SIM115 - silence the flush at exit
        return 141
    except SolverError as exc:  # a missing or failing MILP solver is one line too
        print(f"qkdbench {args.command}: solver error: {exc}", file=sys.stderr)
        return 3
    except Exception as exc:  # a bug: one line, never the status of an infeasible plan
        if os.environ.get("QKDBENCH_DEBUG"):
            raise
        text = " ".join(str(exc).split())
        print(
            f"qkdbench {args.command}: internal error: {type(exc).__name__}: {text} "
            "(a bug; QKDBENCH_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 4
