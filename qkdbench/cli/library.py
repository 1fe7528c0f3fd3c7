"""Instance-library commands: ``library list/show/write/solve``, ``bench`` and ``report``."""

from __future__ import annotations

import argparse
import json
import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..utils.files import check_output_file
from .options import (
    LINE_WIDTH,
    Parser,
    add_dask_args,
    count,
    nonneg_number,
    print_frame,
    print_json,
    progress_wanted,
    seconds,
    stderr_log,
)

__all__ = [
    "add_parsers",
    "cmd_library_list",
    "cmd_library_show",
    "cmd_library_write",
    "cmd_library_solve",
    "cmd_bench",
    "cmd_report",
    "library_list_lines",
    "library_show_lines",
    "HASH_DIGITS",
]

#: Hex digits of an instance's hash that ``library show`` prints (``--json`` has all).
HASH_DIGITS = 8


#: Lines of a set's description in ``library list`` (``library show`` prints all of it).
_LIST_LINES = 3


def _hanging(head: str, text: str, width: int) -> list[str]:
    """``head`` then ``text`` wrapped below it, in at most :data:`_LIST_LINES` lines."""
    body = textwrap.wrap(
        text,
        max(width - len(head), 20),
        max_lines=_LIST_LINES,
        placeholder=" ...",
        break_long_words=False,
        break_on_hyphens=False,
    )
    if not body:
        return [head.rstrip()]
    return [head + body[0]] + [" " * len(head) + line for line in body[1:]]


def library_list_lines(
    rows: Sequence[Mapping[str, Any]],
    pending: Sequence[Mapping[str, Any]],
    width: int = LINE_WIDTH,
) -> list[str]:
    """The lines ``qkdbench library list`` prints, none longer than ``width``.

    Parameters
    ----------
    rows : sequence of Mapping
        Per shipped set: ``set``, ``instances``, ``opt``, ``best``, ``open``, ``description``.
    pending : sequence of Mapping
        Per set not shipped yet: ``set``, ``description``.
    width : int
        The longest line; a description is wrapped below itself, in at most three lines
        (the third cut at a word, ending in `` ...``; ``library show SET`` prints all of it).

    Returns
    -------
    list of str

    Examples
    --------
    >>> row = {"set": "s", "instances": 12, "opt": 10, "best": 2, "open": 0,
    ...        "description": "ten words " * 5}
    >>> for line in library_list_lines([row], [], width=64):
    ...     print(line)
    s 12 instances  opt 10  best  2  open  0  ten words ten words
                                              ten words ten words
                                              ten words
    """
    name = max((len(r["set"]) for r in [*rows, *pending]), default=0)
    digits = max(
        (len(str(r[k])) for r in rows for k in ("instances", "opt", "best", "open")), default=1
    )
    lines = []
    for r in rows:
        head = (
            f"{r['set']:<{name}} {r['instances']:>{digits}} instances  opt {r['opt']:>{digits}}"
            f"  best {r['best']:>{digits}}  open {r['open']:>{digits}}  "
        )
        lines += _hanging(head, r["description"], width)
    for r in pending:
        lines += _hanging(f"{r['set']:<{name}} (not shipped yet) ", r["description"], width)
    return lines


def _show_cells(row: Mapping[str, Any]) -> list[str]:
    """A ``library show`` row's cells after the name."""

    def num(v: Any) -> str:
        return f"{v:,.2f}" if v is not None else "-"

    gap = row["gap"]
    return [
        row["hash"][:HASH_DIGITS],
        row["status"],
        num(row["cost"]),
        num(row["bound"]),
        row["bound_source"] or "-",
        f"{100 * gap:.4f}" if gap is not None and math.isfinite(gap) else "-",
        row["planner"] or "-",
    ]


def library_show_lines(
    name: str, description: str, rows: Sequence[Mapping[str, Any]], width: int = LINE_WIDTH
) -> list[str]:
    """The lines ``qkdbench library show`` prints: the set, then one row per instance.

    Column widths come from the content. The description is wrapped; an instance name
    too long for its row stands on a line of its own, the row below it. No line is
    longer than ``width`` unless the cells after the name alone are.

    Parameters
    ----------
    name, description : str
        The set's.
    rows : sequence of Mapping
        Per instance: ``name``, ``hash``, ``status``, ``cost``, ``bound``,
        ``bound_source``, ``gap`` (a fraction) and ``planner`` (``None``: unknown).
    width : int
        The longest line aimed at.

    Returns
    -------
    list of str
    """
    lines = textwrap.wrap(
        f"set {name}: {description}",
        width,
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    heads = ["hash", "status", "cost", "bound", "source", "gap %", "planner"]
    right = {"cost", "bound", "gap %"}
    cells = [_show_cells(r) for r in rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(heads)]

    def join(first: str, values: Sequence[str]) -> str:
        parts = [first]
        for h, w, v in zip(heads, widths, values, strict=True):
            sep = "  " if h == "planner" else " "
            parts.append(sep + (f"{v:>{w}}" if h in right else f"{v:<{w}}"))
        return "".join(parts).rstrip()

    rest = len(join("", ["x" * w for w in widths]))
    longest = max([len("name"), *(len(r["name"]) for r in rows)])
    name_width = max(len("name"), min(longest, width - rest))
    lines.append(join(f"{'name':<{name_width}}", heads))
    for r, c in zip(rows, cells, strict=True):
        if len(r["name"]) > name_width:
            lines.append(r["name"])
            lines.append(join(" " * name_width, c))
        else:
            lines.append(join(f"{r['name']:<{name_width}}", c))
    return lines


def cmd_library_list(args: argparse.Namespace) -> int:
    """List the library's sets and how many of their instances are opt / best / open.

    Parameters
    ----------
    args : argparse.Namespace
        ``json``.

    Returns
    -------
    int
        The exit status, 0.
    """
    from ..library.sets import PENDING_SETS, load_set, set_names
    from ..library.solutions import read_solutions

    rows = []
    for name in set_names():
        libset = load_set(name)
        sol = read_solutions(name, missing_ok=True)
        n = {s: sum(e.status == s for e in sol.entries.values()) for s in ("opt", "best")}
        rows.append(
            {
                "set": name,
                "instances": len(libset.instances),
                "opt": n["opt"],
                "best": n["best"],
                "open": len(libset.instances) - n["opt"] - n["best"],
                "description": libset.description,
            }
        )
    pending = [{"set": k, "description": v["description"]} for k, v in PENDING_SETS.items()]
    if args.json:
        print_json({"sets": rows, "pending": pending})
    else:
        print("\n".join(library_list_lines(rows, pending)))
    return 0


def cmd_library_show(args: argparse.Namespace) -> int:
    """Show a set's instances with their recipes (``--json``) and best known values.

    Parameters
    ----------
    args : argparse.Namespace
        ``set`` and ``json``.

    Returns
    -------
    int
        The exit status, 0 (an unknown set is bad input, status 2).
    """
    from ..library.sets import load_set
    from ..library.solutions import read_solutions

    libset = load_set(args.set)
    sol = read_solutions(args.set, missing_ok=True)
    rows = []
    for item in libset.instances:
        e = sol.entries.get(item.name)
        rows.append(
            {
                "name": item.name,
                "recipe": dict(item.recipe),
                "hash": item.hash,
                "status": e.status if e else "open",
                "cost": e.cost if e else None,
                "bound": e.bound if e else None,
                "bound_source": e.bound_source if e else None,
                "gap": e.gap if e else None,
                "planner": e.planner if e else None,
                "version": e.version if e else None,
            }
        )
    if args.json:
        print_json({"set": libset.name, "description": libset.description, "instances": rows})
    else:
        print("\n".join(library_show_lines(libset.name, libset.description, rows)))
    return 0


def cmd_library_write(args: argparse.Namespace) -> int:
    """Write one instance of a set to an instance file.

    Parameters
    ----------
    args : argparse.Namespace
        ``set``, ``name`` and ``output``.

    Returns
    -------
    int
        The exit status, 0, with one line naming what was written.
    """
    from ..io import write_instance
    from ..library.sets import load_instance, load_set

    check_output_file(args.output, "-o")
    libset = load_set(args.set)
    inst = load_instance(libset.get(args.name), libset.source)
    write_instance(inst, args.output)
    print(
        f"{inst.name}: {len(inst.nodes)} nodes, {len(inst.links)} links, "
        f"{inst.n_requests} requests -> {args.output}"
    )
    return 0


def cmd_library_solve(args: argparse.Namespace) -> int:
    """Run the Lagrangian planner and the exact solver on a set; update its solutions file.

    Parameters
    ----------
    args : argparse.Namespace
        ``set``, ``time_limit``, ``instances``, ``methods``, ``solutions``, ``json``
        and ``quiet``.

    Returns
    -------
    int
        The exit status, 0, with the counts of opt / best / open instances.
    """
    from ..library.solutions import solve_set

    instances = [s for s in (args.instances or "").split(",") if s.strip()]
    methods = [s.strip() for s in args.methods.split(",") if s.strip()]
    sol = solve_set(
        args.set,
        time_limit=args.time_limit,
        instances=instances,
        methods=methods,
        path=args.solutions,
        log=stderr_log(args.quiet),
    )
    counts = {s: sum(e.status == s for e in sol.entries.values()) for s in ("opt", "best", "open")}
    if args.json:
        print_json({"set": args.set, "file": sol.source, **counts})
    else:
        print(
            f"{args.set}: opt {counts['opt']}, best {counts['best']}, open {counts['open']}"
            f" -> {sol.source}"
        )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Run planners over a library set, scored against the best known solutions.

    Parameters
    ----------
    args : argparse.Namespace
        ``set``, ``planners``, ``time_limit``, ``instances``, ``repeats``,
        ``params``, ``no_warm_up``, ``out``, the Dask options, ``modules``,
        ``json`` and ``progress``.

    Returns
    -------
    int
        The exit status, 0 (a run that fails is a row with status ``error``).
    """
    from ..library.bench import bench
    from ..library.report import summary_table

    planners = [s for s in args.planners.split(",") if s.strip()]
    instances = [s.strip() for s in (args.instances or "").split(",") if s.strip()]
    modules = [s.strip() for s in (args.modules or "").split(",") if s.strip()]
    df = bench(
        args.set,
        planners,
        args.out,
        time_limit=args.time_limit,
        instances=instances,
        repeats=args.repeats,
        scheduler=args.scheduler,
        n_workers=args.workers,
        resume=args.resume,
        modules=modules,
        params=_bench_params(args.params),
        warm_up=not args.no_warm_up,
        progress=progress_wanted(args),
    )
    summary = summary_table(df)
    path = str(Path(args.out) / "results.csv")
    traces = str(Path(args.out) / "traces.csv")
    if args.json:
        rows = summary.to_dict(orient="records")
        print_json({"results": path, "traces": traces, "rows": len(df), "summary": rows})
        return 0
    print_frame(summary, "{:,.3f}")
    print(f"\n{len(df)} rows in {path}, their anytime traces in {traces}")
    return 0


def _bench_params(text: str | None) -> dict[str, dict[str, Any]]:
    """``--params``: a JSON object of planner name to an object of constructor keywords.

    Raises
    ------
    InputError
        If ``text`` is not such an object.
    """
    from ..exceptions import InputError

    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InputError(f"not JSON: {exc}", "--params") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise InputError(
            'expected a JSON object of planner name to keywords, e.g. {"ga": {"generations": 50}}',
            "--params",
        )
    return value


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report of a bench: profiles, gap distributions, win/tie/loss.

    Parameters
    ----------
    args : argparse.Namespace
        ``results``, ``output``, ``target_gap``, ``ioh_budget`` and ``json``.

    Returns
    -------
    int
        The exit status, 0, after printing the Markdown summary and the report's path.
    """
    from ..library.report import make_report

    res = make_report(
        args.results, args.output, target_pct=args.target_gap, ioh_budget=args.ioh_budget
    )
    if args.json:
        print_json(res)
        return 0
    print((Path(args.output) / "summary.md").read_text(encoding="utf-8"))
    print(f"report: {Path(args.output) / 'report.html'}")
    return 0


def _add_library_parser(sub: Any) -> None:
    lib = sub.add_parser("library", help="the instance library: sets, best known solutions")
    lsub = lib.add_subparsers(
        dest="library_command", metavar="LIBRARY_COMMAND", parser_class=Parser
    )
    lsub.required = True
    p = lsub.add_parser("list", help="the sets and how many instances are opt / best / open")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_library_list)
    p = lsub.add_parser("show", help="a set's instances with recipes and best known values")
    p.add_argument("set", help="library set (see `qkdbench library list`)")
    p.add_argument(
        "--json",
        action="store_true",
        help=f"print one JSON object (with the recipes and whole hashes; the table shows "
        f"{HASH_DIGITS} hex digits)",
    )
    p.set_defaults(func=cmd_library_show)
    p = lsub.add_parser("write", help="write one instance of a set to an instance file")
    p.add_argument("set", help="library set (see `qkdbench library list`)")
    p.add_argument("name", help="instance name (see `qkdbench library show SET`)")
    p.add_argument("-o", "--output", required=True, help="instance file to write")
    p.set_defaults(func=cmd_library_write)
    p = lsub.add_parser(
        "solve",
        help="run the Lagrangian planner and the exact solver and update the set's solutions file",
    )
    p.add_argument("set", help="library set (see `qkdbench library list`)")
    p.add_argument(
        "--time-limit",
        type=seconds,
        default=60.0,
        help="seconds per method and instance (default 60)",
    )
    p.add_argument("--instances", default=None, help="comma-separated names (default: all)")
    p.add_argument(
        "--methods",
        default="lagrangian,exact",
        help="comma-separated: lagrangian, column-generation, exact, coqbn (default "
        "lagrangian,exact; column-generation certifies fixed-charge sets at scale; coqbn "
        "stores CO-QBN's plan, no bound, where no other method handles the set)",
    )
    p.add_argument(
        "--solutions",
        default=None,
        help="solutions file to update (default: the shipped one; a missing file starts empty)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_library_solve)


def _add_bench_parser(sub: Any) -> None:
    p = sub.add_parser(
        "bench", help="planners over a library set, scored against the best known solutions"
    )
    p.add_argument("set", help="library set (see `qkdbench library list`)")
    p.add_argument("--planners", required=True, help="comma-separated registry names")
    p.add_argument("--time-limit", type=seconds, default=60.0, help="seconds per run (default 60)")
    p.add_argument("--instances", default=None, help="comma-separated names (default: all)")
    p.add_argument(
        "--repeats",
        type=count,
        default=1,
        help="runs of each stochastic planner per instance, seeds s, s+1, ... with s the "
        "recipe's (default 1); deterministic planners run once",
    )
    p.add_argument(
        "--params",
        default=None,
        help='planner keywords as JSON, e.g. \'{"ga": {"generations": 50}}\'',
    )
    p.add_argument(
        "--no-warm-up",
        action="store_true",
        help="time each process's first run of a planner cold (with Numba's compilation); "
        "by default each process runs each planner once on a few requests first",
    )
    p.add_argument(
        "--out", required=True, help="directory of results.csv, traces.csv and bench.json"
    )
    add_dask_args(p, "bench", "runs")
    p.add_argument(
        "--modules",
        default=None,
        help="comma-separated modules every run imports first (plug-in planners)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--progress", action="store_true", help="show progress even when piped")
    p.set_defaults(func=cmd_bench)


def _add_report_parser(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="performance profiles, gap distributions and "
        "win/tie/loss of a bench (PNG, CSV, HTML, Markdown)",
    )
    p.add_argument("results", help="results.csv written by `qkdbench bench`")
    p.add_argument("-o", "--output", required=True, help="directory of the report")
    p.add_argument(
        "--target-gap",
        type=nonneg_number,
        default=1.0,
        help="target gap to the best known cost, percent, of the time profile (default 1)",
    )
    p.add_argument(
        "--ioh-budget",
        choices=("evaluations", "milliseconds"),
        default="evaluations",
        help="budget column of the IOHprofiler files: plans evaluated (runs without counts "
        "are left out; default) or milliseconds (every run)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_report)


def add_parsers(sub: Any) -> None:
    """Add ``library`` (``list``, ``show``, ``write``, ``solve``), ``bench`` and ``report``.

    Parameters
    ----------
    sub : argparse subparsers action
        The ``qkdbench`` command's subcommands.
    """
    _add_library_parser(sub)
    _add_bench_parser(sub)
    _add_report_parser(sub)
