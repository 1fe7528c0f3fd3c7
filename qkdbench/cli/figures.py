"""Experiment commands: ``spfigures``, ``figure`` and ``sweep``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .options import (
    add_dask_args,
    add_instance_args,
    count,
    fail,
    int_at_least,
    int_list,
    load_instance_arg,
    load_plan_arg,
    nonneg_int,
    print_frame,
    print_json,
    progress_wanted,
    seconds,
    stderr_log,
)

__all__ = [
    "add_parsers",
    "cmd_spfigures",
    "cmd_figure",
    "cmd_sweep",
    "sp_figures_text",
    "mmw_text",
]


def sp_figures_text(fig: Any, inst: Any) -> str:
    """The text ``qkdbench spfigures`` prints: RP, EV, EEV, VSS, WS, EVPI and the time.

    Parameters
    ----------
    fig : SPFigures
        The figures.
    inst : Instance
        Their instance (whether link states are random too).

    Returns
    -------
    str
        Lines without a final newline.
    """
    ws = fig.ws
    pct = 100.0 * ws.confidence
    ev_what = "demanded and link key rates" if "link_states" in inst.features else "key rates"
    # an unproven RP is an upper bound on the true RP: VSS from it is a lower bound on
    # the true VSS, EVPI an upper bound on the true EVPI
    proven = fig.rp_status == "optimal"
    vss_note = "" if proven else "; RP not proven optimal: a lower bound on the true VSS"
    evpi_note = "" if proven else "; RP not proven optimal: an upper bound on the true EVPI"
    lines = [
        f"instance   {fig.instance}",
        f"RP         {fig.rp:>18,.2f}  ({fig.rp_status}; bound {fig.rp_bound:,.2f})",
        f"EV         {fig.ev:>18,.2f}  ({ev_what} fixed at their means)",
        f"EEV        {fig.eev:>18,.2f}  (the EV plan under the true distribution)",
        f"VSS        {fig.vss:>18,.2f}  (EEV - RP{vss_note})",
        f"WS         {ws.mean:>18,.2f}  ({pct:g}% CI {ws.lo:,.2f} .. {ws.hi:,.2f}; "
        f"{fig.n_scenarios} scenarios, seed {fig.seed}"
        f"{'' if fig.ws_all_optimal else '; not all solved to optimality'})",
        f"EVPI       {fig.evpi:>18,.2f}  (RP - WS; CI {fig.evpi_lo:,.2f} .. "
        f"{fig.evpi_hi:,.2f}{evpi_note})",
    ]
    for name, est in (
        ("RP out of sample", fig.rp_out_of_sample),
        ("EV out of sample", fig.ev_out_of_sample),
    ):
        if est is not None:
            lines.append(
                f"{name:<17}{est.mean:>11,.2f}  ({pct:g}% CI {est.lo:,.2f} .. "
                f"{est.hi:,.2f}; {est.n} fresh scenarios)"
            )
    lines.append(f"time       {fig.runtime_s:.1f} s")
    return "\n".join(lines)


def mmw_text(out: dict[str, Any]) -> str:
    """The text ``qkdbench spfigures --mmw`` prints: the plan's gap and its MMW bound.

    Parameters
    ----------
    out : dict
        The JSON object of the command (see :func:`cmd_spfigures`).

    Returns
    -------
    str
        Lines without a final newline.
    """
    gaps = out["gaps"]
    pct = 100.0 * gaps["confidence"]
    rel = out["relative_upper"]
    rel_text = "" if rel is None else f"; {100.0 * rel:.3g}% of the plan's mean batch cost"
    hi = gaps["hi"]
    hi_text = "inf" if hi is None else f"{hi:,.2f}"
    lo = gaps["lo"]
    lo_text = "-inf" if lo is None else f"{lo:,.2f}"
    lines = [
        f"instance   {out['instance']}",
        f"plan       {out['plan']} (planner {out['planner']})",
        f"cost       {out['cost']:>18,.2f}  (over the {out['listed_scenarios']} listed scenarios)",
        f"gap        {gaps['mean']:>18,.2f}  (mean over {out['replications']} batches of "
        f"{out['batch']} draws, seed {out['seed']}; {pct:g}% CI {lo_text} .. {hi_text})",
        f"upper      {out['upper']:>18,.2f}  (one-sided {pct:g}% bound on the true gap{rel_text})",
        f"time       {out['runtime_s']:.1f} s",
    ]
    return "\n".join(lines)


def _cmd_mmw(args: argparse.Namespace, inst: Any) -> int:
    """``spfigures --mmw PLAN``: the MMW interval of the plan's gap over the listed scenarios."""
    import time

    from ..evaluation import evaluate
    from ..exact.joint_figures import listed_sampler, mmw_interval

    sc = inst.scenarios
    if sc is None:
        fail(
            f"--mmw: instance {inst.name!r} lists no joint scenarios to draw the batches from "
            "(make one with `qkdbench instance --scenarios N`)"
        )
    plan = load_plan_arg(inst, args.mmw, "spfigures")
    batch = args.batch if args.batch is not None else sc.n
    t0 = time.perf_counter()
    res = mmw_interval(
        plan,
        listed_sampler(inst, batch, args.scenario_seed),
        replications=args.replications,
        time_limit=args.time_limit,
    )
    out: dict[str, Any] = {
        "instance": inst.name,
        "plan": args.mmw,
        "planner": plan.planner,
        "cost": evaluate(inst, plan).total,
        "listed_scenarios": sc.n,
        "batch": batch,
        "seed": args.scenario_seed,
        **res.to_dict(),
        "runtime_s": time.perf_counter() - t0,
    }
    if args.json:
        print_json(out)
    else:
        print(mmw_text(out))
    return 0


def cmd_spfigures(args: argparse.Namespace) -> int:
    """Compute the stochastic-programming figures of an instance: RP, EEV, VSS, WS, EVPI.

    With ``--mmw PLAN`` it gives instead the multiple-replication (MMW) interval of
    the plan's optimality gap, the listed joint scenarios taken as the distribution:
    ``replications`` batches of ``batch`` draws (with replacement, seed
    ``scenario_seed``), each batch's sample problem solved exactly
    (:func:`~qkdbench.exact.joint_figures.mmw_interval`). Its JSON object holds
    ``instance``, ``plan``, ``planner``, ``cost`` (the plan's over the listed
    scenarios), ``listed_scenarios``, ``batch``, ``seed``, the fields of
    :meth:`~qkdbench.exact.joint_figures.MMWInterval.to_dict` and ``runtime_s``.

    Parameters
    ----------
    args : argparse.Namespace
        The instance arguments, ``scenarios``, ``scenario_seed``, ``oos_scenarios``,
        ``form``, ``time_limit``, ``mmw``, ``replications``, ``batch`` and ``json``.

    Returns
    -------
    int
        The exit status, 0.

    Raises
    ------
    InputError
        For an unreadable instance or plan file, a plan that does not fit the instance,
        or (``--mmw``) a batch's sample problem not solved to optimality.
    UsageError
        For ``--mmw`` on an instance without joint scenarios.
    """
    try:
        from ..exact.sp_figures import sp_figures
    except ImportError as exc:  # pragma: no cover - the exact package is part of qkdbench
        fail(f"the SP figures need the exact solver: {exc}")
    inst = load_instance_arg(args.instance, args.requests, args.max_rate, args.seed)
    if args.mmw is not None:
        return _cmd_mmw(args, inst)
    fig = sp_figures(
        inst,
        n_scenarios=args.scenarios,
        seed=args.scenario_seed,
        oos_scenarios=args.oos_scenarios,
        form=args.form,
        time_limit=args.time_limit,
    )
    if args.json:
        print_json(fig.to_dict())
    else:
        print(sp_figures_text(fig, inst))
    return 0


def cmd_figure(args: argparse.Namespace) -> int:
    """Make the paper's Fig. 3 panels and the planner plots (PNG and CSV each).

    Parameters
    ----------
    args : argparse.Namespace
        ``names``, ``output``, the figure settings, ``json`` and ``quiet``.

    Returns
    -------
    int
        The exit status, 0.
    """
    from ..experiments.config import FIGURES, FigureConfig
    from ..experiments.figures import make_figures

    for name in args.names:
        if name != "all" and name not in FIGURES:
            fail(f"unknown figure {name!r}; known: {', '.join(FIGURES)}, all")
    cfg = FigureConfig(
        topology=args.topology,
        requests=args.requests,
        max_rate=args.max_rate,
        seed=args.seed,
        time_limit=args.time_limit,
        planner_seed=args.planner_seed,
        rate_requests=args.rate_requests,
        rates=tuple(args.rates),
        counts=tuple(args.counts),
        count_seeds=tuple(args.count_seeds),
    )
    summary = make_figures(args.names, args.output, cfg, log=stderr_log(args.quiet))
    if args.json:
        print_json(summary)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run (or resume) a sweep: a grid of instances and planners, on Dask or in process.

    Parameters
    ----------
    args : argparse.Namespace
        ``spec``, ``out``, the Dask options, ``json`` and ``progress``.

    Returns
    -------
    int
        The exit status, 0 (a run that fails is a row with status ``error``).
    """
    from ..experiments.store import summarize
    from ..experiments.sweep import run_sweep
    from ..experiments.sweep_spec import read_spec

    spec = read_spec(args.spec)
    df = run_sweep(
        spec,
        args.out,
        scheduler=args.scheduler,
        n_workers=args.workers,
        resume=args.resume,
        progress=progress_wanted(args),
    )
    summary = summarize(df)
    path = str(Path(args.out) / "results.csv")
    if args.json:
        rows = summary.to_dict(orient="records")
        print_json({"results": path, "rows": len(df), "summary": rows})
        return 0
    if len(summary):
        print_frame(summary, "{:,.2f}")
    else:
        print("(no results)")
    errors = int((df["status"] == "error").sum()) if len(df) else 0
    print(f"\n{len(df)} rows in {path}{f', {errors} errors' if errors else ''}")
    return 0


def _add_spfigures_parser(sub: Any) -> None:
    p = sub.add_parser("spfigures", help="stochastic-programming figures: RP, EEV, VSS, WS, EVPI")
    add_instance_args(p)
    p.add_argument(
        "--scenarios",
        type=count,
        default=30,
        help="joint scenarios (key rates and link states) sampled for WS (default 30)",
    )
    p.add_argument(
        "--scenario-seed", type=nonneg_int, default=0, help="seed of the scenario samples"
    )
    p.add_argument(
        "--oos-scenarios",
        type=nonneg_int,
        default=1000,
        help="fresh scenarios for the out-of-sample scores (0: skip; default 1000)",
    )
    p.add_argument(
        "--form",
        choices=("compact", "extensive"),
        default="compact",
        help="MILP form of the exact solves (default compact)",
    )
    p.add_argument("--time-limit", type=seconds, default=None, help="seconds per exact solve")
    p.add_argument(
        "--mmw",
        metavar="PLAN",
        default=None,
        help="instead of the figures, the MMW interval of this plan's optimality gap, "
        "batches drawn from the instance's listed joint scenarios (seed: --scenario-seed)",
    )
    p.add_argument(
        "--replications",
        type=int_at_least(2),
        default=10,
        metavar="M",
        help="--mmw: batches, each solved exactly (default 10)",
    )
    p.add_argument(
        "--batch",
        type=count,
        default=None,
        metavar="N",
        help="--mmw: draws per batch, with replacement (default: the number listed)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_spfigures)


def _add_figure_parser(sub: Any) -> None:
    from ..experiments.config import FigureConfig

    d = FigureConfig()
    p = sub.add_parser("figure", help="the paper's Fig. 3 panels and planner plots (PNG + CSV)")
    p.add_argument(
        "names",
        nargs="+",
        metavar="NAME",
        help="fig3a, fig3b, fig3c, fig3d, quality, anytime or all",
    )
    p.add_argument("-o", "--output", required=True, help="directory for NAME.png and NAME.csv")
    p.add_argument("--topology", default=d.topology, help=f"default {d.topology}")
    p.add_argument(
        "--requests",
        type=nonneg_int,
        default=d.requests,
        help=f"requests of fig3a/b, quality, anytime (default {d.requests})",
    )
    p.add_argument(
        "--max-rate",
        type=nonneg_int,
        default=d.max_rate,
        help=f"K of fig3a/b, fig3d, quality, anytime (default {d.max_rate})",
    )
    p.add_argument(
        "--seed", type=nonneg_int, default=d.seed, help=f"request seed (default {d.seed})"
    )
    p.add_argument(
        "--planner-seed",
        type=nonneg_int,
        default=d.planner_seed,
        help=f"seed passed to every planner (default {d.planner_seed})",
    )
    p.add_argument(
        "--time-limit",
        type=seconds,
        default=d.time_limit,
        help=f"seconds per planner run (default {d.time_limit:g})",
    )
    p.add_argument(
        "--rate-requests",
        type=nonneg_int,
        default=d.rate_requests,
        help=f"requests of fig3c (default {d.rate_requests})",
    )
    for flag, values, what in (
        ("--rates", d.rates, "K values of fig3c, comma-separated"),
        ("--counts", d.counts, "request counts of fig3d"),
        ("--count-seeds", d.count_seeds, "request seeds of fig3d"),
    ):
        default = ",".join(map(str, values))
        p.add_argument(
            flag, type=int_list, default=list(values), help=f"{what} (default {default})"
        )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_figure)


def _add_sweep_parser(sub: Any) -> None:
    p = sub.add_parser("sweep", help="a grid of instances and planners on Dask (TOML spec)")
    p.add_argument("spec", help="sweep specification (TOML; see docs/formats.md)")
    p.add_argument(
        "--out", default="sweep-out", help="directory of results.csv (default sweep-out)"
    )
    add_dask_args(p, "sweep", "grid points")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--progress", action="store_true", help="show progress even when piped")
    p.set_defaults(func=cmd_sweep)


def add_parsers(sub: Any) -> None:
    """Add ``spfigures``, ``figure`` and ``sweep``.

    Parameters
    ----------
    sub : argparse subparsers action
        The ``qkdbench`` command's subcommands.
    """
    _add_spfigures_parser(sub)
    _add_figure_parser(sub)
    _add_sweep_parser(sub)
