"""Planning commands: ``plan``, ``evaluate``, ``planners``, ``compare`` and ``bound``."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from ..exceptions import InputError, SolverError, UsageError
from ..model import PHASE_NAMES
from ..utils.files import check_output_file
from .options import (
    Elapsed,
    add_instance_args,
    check_planners,
    count,
    get_planner,
    load_instance_arg,
    load_plan_arg,
    nonneg_int,
    plain_text,
    print_json,
    progress_wanted,
    seconds,
)

__all__ = [
    "add_parsers",
    "cmd_plan",
    "cmd_evaluate",
    "cmd_planners",
    "cmd_compare",
    "cmd_bound",
    "evaluation_text",
]


def cmd_plan(args: argparse.Namespace) -> int:
    """Run one planner on an instance file and write its plan file.

    Parameters
    ----------
    args : argparse.Namespace
        ``instance``, ``planner``, ``seed``, ``time_limit`` and ``output``.

    Returns
    -------
    int
        The exit status: 0 with the plan written (and one line on standard error);
        3 if the planner raised or returned no plan (no file is written). Bad input,
        the planner's ``InputError`` included, is status 2.
    """
    from ..evaluation import evaluate
    from ..io import read_instance, write_plan
    from ..utils.registry import check_supports

    check_output_file(args.output, "-o")  # before the planner runs: its work is not lost
    inst = read_instance(args.instance)
    planner = get_planner(args.planner)
    check_supports(planner, inst)  # a refusal is bad input: one line, status 2
    from ..experiments.runs import warm_up

    warm_up()  # load the compiled kernels before the clock starts: the limit is the planner's
    try:
        with Elapsed(f"{args.planner} on {inst.name}", args.time_limit):
            plan = planner.plan(inst, seed=args.seed, time_limit=args.time_limit)
    except (InputError, UsageError, SolverError):
        raise  # bad input (status 2), a failing solver (status 3)
    except Exception as exc:  # a planner's own failure: one line, status 3 (no plan)
        text = " ".join(str(exc).split())
        print(
            f"qkdbench plan: error: planner {args.planner!r} failed: {type(exc).__name__}: {text}",
            file=sys.stderr,
        )
        return 3
    if plan.status == "error" or (inst.n_requests and not plan.routes):
        # no plan at all (e.g. the solver failed before any incumbent): never exit 0
        why = " ".join(str(plan.stats.get("message") or f"status {plan.status}").split())
        print(
            f"qkdbench plan: solver error: planner {args.planner!r} returned no plan: {why}",
            file=sys.stderr,
        )
        return 3
    write_plan(plan, args.output)
    ev = evaluate(inst, plan)
    print(
        f"wrote {args.output}: planner {plan.planner}, status {plan.status}, "
        f"expected cost {ev.total:,.2f}, {plan.stats.get('runtime_s', 0.0):.2f} s",
        file=sys.stderr,
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score a plan file on an instance file: expected cost, its breakdown, feasibility.

    Parameters
    ----------
    args : argparse.Namespace
        ``instance``, ``plan`` and ``json``.

    Returns
    -------
    int
        The exit status: 0 for a feasible plan, 1 for a plan that is scored but
        infeasible. A route that is not a path of the instance is bad input (status 2).

    Raises
    ------
    InputError
        For an unreadable or invalid file, or the first route that does not fit the
        instance (naming the plan file; when the plan names another instance, the
        error says so). A plan that names another instance but fits this one is
        scored, after a warning line on standard error.
    """
    from ..evaluation import evaluate
    from ..io import read_instance

    inst = read_instance(args.instance)
    plan = load_plan_arg(inst, args.plan, "evaluate")
    ev = evaluate(inst, plan)
    if args.json:
        print_json(ev.to_dict())
    else:
        print(evaluation_text(ev, inst))
    return 0 if ev.feasible else 1


#: Width of a number column of ``evaluate``'s component table.
_NUMBER = 17


def _component_lines(ev: Any) -> list[str]:
    """The cost components by phase, each column's header right-aligned over its numbers."""
    # outside the three phases: first-stage costs, and the shortfall (a phase of its own)
    first_stage = ("hop", "site", "node", "service", "shortfall")
    name = max([len("component"), *map(len, ev.components)])
    heads = [*(ph.replace("_", "-") for ph in PHASE_NAMES), "total"]
    lines = [f"{'component':<{name}}" + "".join(f"{h:>{_NUMBER}}" for h in heads)]
    for comp, total in ev.components.items():
        if comp in first_stage:
            cells = [""] * len(PHASE_NAMES)
        else:
            cells = [f"{ev.phase_components[ph][comp]:,.2f}" for ph in PHASE_NAMES]
        row = "".join(f"{c:>{_NUMBER}}" for c in [*cells, f"{total:,.2f}"])
        lines.append(f"{comp:<{name}}{row}")
    return lines


def evaluation_text(ev: Any, inst: Any) -> str:
    """The text ``qkdbench evaluate`` prints: totals, the breakdown, wavelengths, providers.

    Parameters
    ----------
    ev : Evaluation
        The plan's evaluation.
    inst : Instance
        Its instance (for the providers' capacities).

    Returns
    -------
    str
        Lines without a final newline.
    """
    lines = [
        f"total            {ev.total:>18,.2f}",
        f"first stage      {ev.first_stage:>18,.2f}",
        f"second stage     {ev.second_stage:>18,.2f}  (expected)",
        f"feasible         {'yes' if ev.feasible else 'NO'}",
        "",
        *_component_lines(ev),
    ]
    w = ev.wavelengths
    short = "shortfall_qkd" in w  # a coupled second stage: wavelengths that fall short
    lines += [
        "",
        "wavelengths       reserved   used (exp.)   on-demand (exp.)"
        + ("   shortfall (exp.)" if short else ""),
        f"QKD         {w['reserved_qkd']:>14,.1f}{w['used_qkd']:>14,.1f}"
        f"{w['on_demand_qkd']:>19,.1f}" + (f"{w['shortfall_qkd']:>19,.1f}" if short else ""),
        f"KM          {w['reserved_km']:>14,.1f}{w['used_km']:>14,.1f}{w['on_demand_km']:>19,.1f}"
        + (f"{w['shortfall_km']:>19,.1f}" if short else ""),
    ]
    if ev.served:
        caps = inst.provider_capacity
        lines += ["", "provider          served   capacity"]
        lines += [
            f"{pid:<12}{n:>12,}{'unlimited' if caps.get(pid) is None else caps[pid]:>11}"
            for pid, n in ev.served.items()
        ]
    if ev.violations:
        lines += ["", "violations:"] + [f"  {v}" for v in ev.violations]
    return "\n".join(lines)


def cmd_planners(args: argparse.Namespace) -> int:
    """List the registered planners: name, origin and the summary as plain text.

    Parameters
    ----------
    args : argparse.Namespace
        ``json`` (the summaries as they are written, with their markup).

    Returns
    -------
    int
        The exit status, 0.
    """
    from ..utils.registry import available_planners

    infos = available_planners()
    if args.json:
        print_json({n: {"origin": i.origin, "summary": i.summary} for n, i in infos.items()})
        return 0
    width = max(len(n) for n in infos) if infos else 4
    for name in sorted(infos):
        info = infos[name]
        print(f"{name:<{width}}  {info.origin:<22}  {plain_text(info.summary)}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Run every planner (or those of ``--planners``) on one instance and print the table.

    Parameters
    ----------
    args : argparse.Namespace
        The instance arguments, ``planners``, ``planner_seed``, ``time_limit``,
        ``budget``, ``bound_time``, ``progress`` and one of ``json``, ``csv``, ``markdown``.

    Returns
    -------
    int
        The exit status, 0 (a planner that fails is a row of the table).
    """
    from ..experiments.compare import compare, format_table

    inst = load_instance_arg(args.instance, args.requests, args.max_rate, args.seed)
    planners = [p.strip() for p in args.planners.split(",")] if args.planners else None
    if planners:
        from ..utils.registry import available_planners

        check_planners(planners, available_planners())
    table: Any = compare(
        inst,
        planners=planners,
        seed=args.planner_seed,
        time_limit=args.time_limit,
        budget=args.budget,
        bound_time=args.bound_time,
        progress=progress_wanted(args),
    )
    if args.json:
        reference = {
            "label": table.attrs.get("gap_label", ""),
            "value": table.attrs.get("gap_reference"),
            "planner": table.attrs.get("gap_source", ""),
        }
        rows = table.to_dict(orient="records")
        print_json({"instance": inst.name, "gap_reference": reference, "rows": rows})
    elif args.csv:
        sys.stdout.write(table.to_csv(index=False))
    else:
        print(format_table(table, markdown=args.markdown, title=inst.name))
    return 0


def cmd_bound(args: argparse.Namespace) -> int:
    """Compute the strongest lower bound and the certified gap of the best plan found with it.

    The capacity Lagrangian always; on instances with fixed charges also the
    linking bound (:func:`~qkdbench.exact.linking.best_bound`).

    Parameters
    ----------
    args : argparse.Namespace
        The instance arguments, ``iterations``, ``time_limit`` and ``json``.

    Returns
    -------
    int
        The exit status, 0.
    """
    from ..exact.linking import best_bound

    inst = load_instance_arg(args.instance, args.requests, args.max_rate, args.seed)
    with Elapsed(f"bound on {inst.name}", args.time_limit):
        res = best_bound(inst, iterations=args.iterations, time_limit=args.time_limit)
    if args.json:
        print_json({"instance": inst.name, **res.to_dict()})
        return 0
    lines = [
        f"instance   {inst.name}",
        f"bound      {res.bound + 0.0:>18,.2f}  ({res.bound_source}; {res.iterations} "
        f"iteration{'' if res.iterations == 1 else 's'}, stopped: {res.stop})",
    ]
    for source, value in res.bounds.items():
        if source != res.bound_source:
            lines.append(f"           {value + 0.0:>18,.2f}  ({source})")
    if math.isfinite(res.cost):
        lines.append(f"best plan  {res.cost:>18,.2f}  (certified gap {100.0 * res.gap:.4f}%)")
    lines.append(f"time       {res.runtime_s:.1f} s")
    print("\n".join(lines))
    return 0


def _add_plan_parsers(sub: Any) -> None:
    p = sub.add_parser("plan", help="run one planner on an instance")
    p.add_argument("instance", help="instance file")
    p.add_argument("--planner", default="coqbn", help="registry name (see `qkdbench planners`)")
    p.add_argument(
        "--seed",
        type=nonneg_int,
        default=None,
        help="seed of the planner's random steps (default: none given, which the built-in "
        "planners take as 0)",
    )
    p.add_argument("--time-limit", type=seconds, default=None, help="seconds")
    p.add_argument("-o", "--output", required=True, help="plan file to write")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("evaluate", help="score a plan: expected cost, breakdown, feasibility")
    p.add_argument("instance", help="instance file")
    p.add_argument("plan", help="plan file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("planners", help="list the registered planners")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_planners)


def _add_compare_parser(sub: Any) -> None:
    p = sub.add_parser("compare", help="the main job: every planner on one instance")
    add_instance_args(p)
    p.add_argument("--planners", default=None, help="comma-separated names (default: all)")
    p.add_argument(
        "--planner-seed", type=nonneg_int, default=0, help="seed passed to every planner"
    )
    p.add_argument(
        "--time-limit", type=seconds, default=None, help="seconds per planner (default 20)"
    )
    p.add_argument(
        "--budget",
        type=seconds,
        default=None,
        help="seconds for the whole comparison, shared among the planners (default 90)",
    )
    p.add_argument(
        "--bound-time",
        type=seconds,
        default=None,
        help="also compute a Lagrangian lower bound for this many seconds (from "
        "the budget); the best bound of any source is the gap reference "
        "when no planner proves optimality",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print one JSON object")
    fmt.add_argument("--csv", action="store_true", help="print the table as CSV")
    fmt.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--progress", action="store_true", help="show progress even when piped")
    p.set_defaults(func=cmd_compare)


def _add_bound_parser(sub: Any) -> None:
    p = sub.add_parser(
        "bound",
        help="a lower bound (Lagrangian) and the certified gap of the best plan found with it",
    )
    add_instance_args(p)
    p.add_argument(
        "--iterations",
        type=count,
        default=2000,
        help="most dual iterations (default 2000)",
    )
    p.add_argument(
        "--time-limit",
        type=seconds,
        default=None,
        help="seconds for the whole run (default: none)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_bound)


def add_parsers(sub: Any) -> None:
    """Add ``plan``, ``evaluate``, ``planners``, ``compare`` and ``bound``.

    Parameters
    ----------
    sub : argparse subparsers action
        The ``qkdbench`` command's subcommands.
    """
    _add_plan_parsers(sub)
    _add_compare_parser(sub)
    _add_bound_parser(sub)
