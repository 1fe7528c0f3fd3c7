"""The ``qkdbench`` command line.

Commands: ``instance``, ``plan``, ``evaluate``, ``planners``, ``compare``,
``bound``, ``spfigures``, ``figure``, ``sweep``, ``library list`` / ``show`` / ``write`` /
``solve``, ``bench``, ``report``, ``rl train`` / ``rl evaluate``. Bad input exits with
status 2 and one line on standard error naming the file, the place in it and the problem.
With ``--json`` a command prints one JSON object on standard output and
nothing else there.

Exit status of ``evaluate``: 0 for a feasible plan, 1 for a plan that is
scored but infeasible (reservations over capacity, negative or fractional),
2 for bad input (including a route that is not a path of the instance).
A missing or failing MILP solver exits with status 3 and one line, and so does
``plan`` when the planner returns no plan (status ``error``, e.g. a solver that
failed before it had any incumbent; no plan file is written); a planner that
raises makes ``plan`` exit with status 1 and one line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .exceptions import InputError, SolverError
from .model import PHASE_NAMES

__all__ = ["main", "build_parser"]


class _UsageError(Exception):
    """A bad command line or bad input: exit status 2, one line."""


def _fail(message: str) -> None:
    raise _UsageError(message)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _int_at_least(least: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if v < least:
            raise argparse.ArgumentTypeError(f"must be >= {least}, got {v}")
        return v

    return parse


#: A count that may be zero (requests, K, capacities) and a seed (numpy wants >= 0).
_nonneg_int = _int_at_least(0)
#: A count that must be at least one (scenarios, workers).
_count = _int_at_least(1)


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return v


def _print_json(obj: Any) -> None:
    """One JSON object on standard output; NaN and infinities become null (strict JSON)."""
    json.dump(_finite(obj), sys.stdout, indent=1, default=_json_default, allow_nan=False)
    sys.stdout.write("\n")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    try:
        import numpy as np

        if isinstance(obj, np.floating):
            return _finite(float(obj))
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.ndarray):
            return _finite(obj.tolist())
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    return obj


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def load_instance_arg(
    text: str, requests: int | None = None, max_rate: int | None = None, seed: int | None = None
):
    """An instance from an instance file, or a topology (name/file) plus sampled requests."""
    from .io import read_instance
    from .topologies import load_topology, make_instance, sample_requests
    from .topologies.ntn import ntn_base

    if os.path.isfile(text) and text.lower().endswith(".json"):
        try:
            with open(text, encoding="utf-8") as fh:
                is_instance = "format" in json.load(fh)
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError, OSError):
            is_instance = True  # let the instance reader name the problem
        if is_instance and requests is None and max_rate is None and seed is None:
            return read_instance(text)
    n = requests if requests is not None else 20
    k = max_rate if max_rate is not None else 10
    s = seed if seed is not None else 1
    if ntn_base(text) is not None:  # a TN-NTN name: its generator places the requests
        return make_instance(text, n, k, seed=s)
    return sample_requests(load_topology(text), n, max_rate=k, seed=s)


# --------------------------------------------------------------------------- commands


def cmd_instance(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .io import write_instance
    from .topologies import load_topology, sample_requests

    overrides = {
        k: getattr(args, k)
        for k in ("span_km", "key_rate_kbps", "W_qkd", "W_kml", "hop_cost")
        if getattr(args, k) is not None
    }
    from .topologies.ntn import ntn_base

    base = ntn_base(args.topology)
    if base is not None:
        args.ntn = True
    topo = load_topology(base if base is not None else args.topology)
    if overrides:  # only what was given; a topology file's own parameters stay otherwise
        try:
            topo = replace(topo, params=replace(topo.params, **overrides))
        except InputError as exc:
            flag = {
                "span_km": "--span-km",
                "key_rate_kbps": "--key-rate-kbps",
                "W_qkd": "--w-qkd",
                "W_kml": "--w-kml",
                "hop_cost": "--hop-cost",
            }.get(exc.place[7:], exc.place)
            _fail(f"{flag}: {exc.problem}")
    knobs = (
        args.demand != "uniform"
        or args.hotspots
        or args.site is not None
        or args.fixed_charge_factor is not None
        or args.tightness is not None
    )
    ntn = _ntn_options(args)
    if ntn is not None:
        if args.demand != "uniform" or args.hotspots or args.fixed_charge_factor is not None:
            _fail(
                "--ntn (or a -ntn topology, or a TN-NTN option) cannot be combined with "
                "--demand, --hotspots or --fixed-charge-factor"
            )
        for key in ("site", "tightness"):  # the TN-NTN generator has these two knobs too
            if getattr(args, key) is not None:
                ntn[key] = getattr(args, key)
        from .topologies import ntn_instance

        try:
            inst = ntn_instance(
                topo,
                args.requests,
                max_rate=args.max_rate,
                seed=args.seed,
                name=f"{topo.name}-ntn-r{args.requests}-k{args.max_rate}-s{args.seed}",
                **ntn,
            )
        except InputError as exc:
            key = exc.place.split(".")[0]
            flag = _NTN_FLAGS.get(key, f"--{key}" if key in ("site", "tightness") else key)
            _fail(f"{flag}: {exc.problem}")
    elif knobs:
        from .topologies import design_instance

        try:
            inst = design_instance(
                topo,
                args.requests,
                max_rate=args.max_rate,
                seed=args.seed,
                demand=args.demand,
                hotspots=args.hotspots,
                site=args.site,
                fixed_charge_factor=args.fixed_charge_factor,
                tightness=args.tightness,
            )
        except InputError as exc:
            _fail(f"--{exc.place.replace('_', '-')}: {exc.problem}")
    else:
        inst = sample_requests(topo, args.requests, max_rate=args.max_rate, seed=args.seed)
    write_instance(inst, args.output)
    print(
        f"wrote {args.output}: {inst.name}, {len(inst.nodes)} nodes, {len(inst.links)} links, "
        f"{inst.n_requests} requests",
        file=sys.stderr,
    )
    return 0


#: The TN-NTN generator's parameters and their ``instance`` options.
_NTN_FLAGS = {
    "ground_stations": "--ground-stations",
    "satellite_links": "--satellite-links",
    "free_space_links": "--free-space-links",
    "access_km": "--access-km",
    "weather": "--weather",
    "satellite_rates": "--satellite-rates",
    "free_space_rates": "--free-space-rates",
    "providers": "--providers",
    "sites": "--sites",
    "provider_capacity": "--provider-capacity",
    "anycast": "--anycast",
    "service_cost": "--service-cost",
    "service_spread": "--service-spread",
    "station_cost": "--station-cost",
    "satellite_fixed_cost": "--satellite-fixed-cost",
    "free_space_fixed_cost": "--free-space-fixed-cost",
}


def _ntn_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """The TN-NTN generator's keyword arguments given on the command line, or ``None``.

    Any TN-NTN option turns the generator on, as ``--ntn`` does.
    """
    from .topologies.ntn import parse_states

    given = {k: getattr(args, k) for k in _NTN_FLAGS if getattr(args, k) is not None}
    if not args.ntn and not given:
        return None
    for key in ("weather", "satellite_rates", "free_space_rates"):
        if key in given:
            try:
                given[key] = parse_states(given[key], _NTN_FLAGS[key])
            except InputError as exc:
                _fail(f"{exc.place}: {exc.problem}")
    return given


class _Elapsed:
    """A progress bar of elapsed seconds (against the time limit, if any) while a planner runs.

    Shown on standard error when it is a terminal (tqdm decides), ticking from a
    background thread, since a planner reports no progress of its own.
    """

    def __init__(self, label: str, limit: float | None):
        import threading

        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=round(limit, 1) if limit else None,
            desc=label,
            unit="s",
            file=sys.stderr,
            disable=None,
            leave=False,
            bar_format="{desc}: {n:.0f}/{total:.0f} s" if limit else "{desc}: {n:.0f} s",
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def _tick(self) -> None:
        import time

        start = time.perf_counter()
        while not self._stop.wait(0.5):
            self._bar.n = time.perf_counter() - start
            self._bar.refresh()

    def __enter__(self) -> _Elapsed:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._bar.close()


def cmd_plan(args: argparse.Namespace) -> int:
    from .evaluation import evaluate
    from .io import read_instance, write_plan

    inst = read_instance(args.instance)
    planner = _planner(args.planner)
    from .utils.registry import check_supports

    check_supports(planner, inst)  # a refusal is bad input: one line, status 2
    try:
        with _Elapsed(f"{args.planner} on {inst.name}", args.time_limit):
            plan = planner.plan(inst, seed=args.seed, time_limit=args.time_limit)
    except Exception as exc:  # a planner's own failure: one line, status 1
        if isinstance(exc, SolverError):
            raise
        text = " ".join(str(exc).split())
        print(
            f"qkdbench plan: error: planner {args.planner!r} failed: {type(exc).__name__}: {text}",
            file=sys.stderr,
        )
        return 1
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


def _planner(name: str, **params: Any):
    from .utils.registry import get_planner

    try:
        return get_planner(name, **params)
    except KeyError as exc:
        _fail(str(exc.args[0]) if exc.args else f"unknown planner {name!r}")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate, route_violations
    from .io import read_instance, read_plan

    inst = read_instance(args.instance)
    plan = read_plan(args.plan)
    problems = route_violations(inst, plan)
    if problems:
        raise problems[0].located(args.plan)
    ev = evaluate(inst, plan)
    if args.json:
        _print_json(ev.to_dict())
    else:
        print(_evaluation_text(ev, inst))
    return 0 if ev.feasible else 1


def _evaluation_text(ev, inst) -> str:
    lines = [
        f"total            {ev.total:>18,.2f}",
        f"first stage      {ev.first_stage:>18,.2f}",
        f"second stage     {ev.second_stage:>18,.2f}  (expected)",
        f"feasible         {'yes' if ev.feasible else 'NO'}",
        "",
        "component         reservation     reserved-use        on-demand            total",
    ]
    for comp, total in ev.components.items():
        if comp in ("hop", "site", "node", "service"):  # first stage, outside the phases
            lines.append(f"{comp:<8}{'':>51}{total:>17,.2f}")
            continue
        row = "".join(f"{ev.phase_components[ph][comp]:>17,.2f}" for ph in PHASE_NAMES)
        lines.append(f"{comp:<8}{row}{total:>17,.2f}")
    w = ev.wavelengths
    lines += [
        "",
        "wavelengths       reserved   used (exp.)   on-demand (exp.)",
        f"QKD         {w['reserved_qkd']:>14,.1f}{w['used_qkd']:>14,.1f}"
        f"{w['on_demand_qkd']:>19,.1f}",
        f"KM          {w['reserved_km']:>14,.1f}{w['used_km']:>14,.1f}{w['on_demand_km']:>19,.1f}",
    ]
    if ev.served:  # X3
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
    from .utils.registry import available_planners

    infos = available_planners()
    if args.json:
        _print_json({n: {"origin": i.origin, "summary": i.summary} for n, i in infos.items()})
        return 0
    width = max(len(n) for n in infos) if infos else 4
    for name in sorted(infos):
        info = infos[name]
        print(f"{name:<{width}}  {info.origin:<22}  {info.summary}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .experiments.compare import compare, format_table

    inst = load_instance_arg(args.instance, args.requests, args.max_rate, args.seed)
    planners = [p.strip() for p in args.planners.split(",")] if args.planners else None
    if planners:
        from .utils.registry import available_planners

        known = available_planners()
        for p in planners:
            if p not in known:
                _fail(f"--planners: unknown planner {p!r}; known: {', '.join(sorted(known))}")
    table: Any = compare(
        inst,
        planners=planners,
        seed=args.planner_seed,
        time_limit=args.time_limit,
        budget=args.budget,
        bound_time=args.bound_time,
        progress=not args.json and sys.stderr.isatty() or args.progress,
    )
    if args.json:
        _print_json(
            {
                "instance": inst.name,
                "gap_reference": {
                    "label": table.attrs.get("gap_label", ""),
                    "value": _finite_or_none(table.attrs.get("gap_reference")),
                    "planner": table.attrs.get("gap_source", ""),
                },
                "rows": [
                    {k: _finite_or_none(v) for k, v in row.items()}
                    for row in table.to_dict(orient="records")
                ],
            }
        )
    elif args.csv:
        sys.stdout.write(table.to_csv(index=False))
    else:
        print(format_table(table, markdown=args.markdown, title=inst.name))
    return 0


def _finite_or_none(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def cmd_bound(args: argparse.Namespace) -> int:
    from .exact.lagrangian import lagrangian_bound

    inst = load_instance_arg(args.instance, args.requests, args.max_rate, args.seed)
    with _Elapsed(f"bound on {inst.name}", args.time_limit):
        res = lagrangian_bound(inst, iterations=args.iterations, time_limit=args.time_limit)
    if args.json:
        _print_json({"instance": inst.name, **res.to_dict()})
        return 0
    lines = [
        f"instance   {inst.name}",
        f"bound      {res.bound + 0.0:>18,.2f}  ({res.bound_source}; {res.iterations} "
        f"iteration{'' if res.iterations == 1 else 's'}, stopped: {res.stop})",
    ]
    if math.isfinite(res.cost):
        lines.append(f"best plan  {res.cost:>18,.2f}  (certified gap {100.0 * res.gap:.4f}%)")
    lines.append(f"time       {res.runtime_s:.1f} s")
    print("\n".join(lines))
    return 0


def cmd_spfigures(args: argparse.Namespace) -> int:
    try:
        from .exact.sp_figures import sp_figures
    except ImportError as exc:  # pragma: no cover - the exact package is part of qkdbench
        _fail(f"the SP figures need the exact solver: {exc}")
    inst = load_instance_arg(args.instance, args.requests, args.max_rate, args.seed)
    fig = sp_figures(
        inst,
        n_scenarios=args.scenarios,
        seed=args.scenario_seed,
        oos_scenarios=args.oos_scenarios,
        form=args.form,
        time_limit=args.time_limit,
    )
    if args.json:
        _print_json(fig.to_dict())
        return 0
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
    print("\n".join(lines))
    return 0


def cmd_figure(args: argparse.Namespace) -> int:
    from .experiments.config import FIGURES, FigureConfig
    from .experiments.figures import make_figures

    for name in args.names:
        if name != "all" and name not in FIGURES:
            _fail(f"unknown figure {name!r}; known: {', '.join(FIGURES)}, all")
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
    log = (lambda msg: print(msg, file=sys.stderr)) if not args.quiet else None
    summary = make_figures(args.names, args.output, cfg, log=log)
    if args.json:
        _print_json(summary)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .experiments.store import summarize
    from .experiments.sweep import run_sweep
    from .experiments.sweep_spec import read_spec

    spec = read_spec(args.spec)
    df = run_sweep(
        spec,
        args.out,
        scheduler=args.scheduler,
        n_workers=args.workers,
        resume=args.resume,
        progress=(not args.json and sys.stderr.isatty()) or args.progress,
    )
    summary = summarize(df)
    if args.json:
        _print_json(
            {
                "results": os.path.join(args.out, "results.csv"),
                "rows": len(df),
                "summary": [
                    {k: _finite_or_none(v) for k, v in r.items()}
                    for r in summary.to_dict(orient="records")
                ],
            }
        )
        return 0
    import pandas as pd

    with pd.option_context(
        "display.width",
        200,
        "display.max_columns",
        20,
        "display.max_rows",
        500,
        "display.float_format",
        "{:,.2f}".format,
    ):
        print(summary.to_string(index=False) if len(summary) else "(no results)")
    errors = int((df["status"] == "error").sum()) if len(df) else 0
    print(
        f"\n{len(df)} rows in {os.path.join(args.out, 'results.csv')}"
        f"{f', {errors} errors' if errors else ''}"
    )
    return 0


def cmd_library_list(args: argparse.Namespace) -> int:
    from .library.sets import PENDING_SETS, load_set, set_names
    from .library.solutions import read_solutions

    rows = []
    for name in set_names():
        libset = load_set(name)
        sol = read_solutions(name, missing_ok=True)
        count = {s: sum(e.status == s for e in sol.entries.values()) for s in ("opt", "best")}
        rows.append(
            {
                "set": name,
                "instances": len(libset.instances),
                "opt": count["opt"],
                "best": count["best"],
                "open": len(libset.instances) - count["opt"] - count["best"],
                "description": libset.description,
            }
        )
    pending = [{"set": k, "description": v["description"]} for k, v in PENDING_SETS.items()]
    if args.json:
        _print_json({"sets": rows, "pending": pending})
        return 0
    for r in rows:
        print(
            f"{r['set']:<10} {r['instances']:>3} instances  opt {r['opt']:>3}  best "
            f"{r['best']:>3}  open {r['open']:>3}  {r['description']}"
        )
    for r in pending:
        print(f"{r['set']:<10} (not shipped yet) {r['description']}")
    return 0


def cmd_library_show(args: argparse.Namespace) -> int:
    from .library.sets import load_set
    from .library.solutions import read_solutions

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
        _print_json({"set": libset.name, "description": libset.description, "instances": rows})
        return 0
    print(f"set {libset.name}: {libset.description}")
    print(
        f"{'name':<34} {'hash':<16} {'status':<6} {'cost':>18} {'bound':>18} "
        f"{'source':<10} {'gap %':>9}  planner"
    )

    def num(v: Any) -> str:
        return f"{v:,.2f}" if v is not None else "-"

    r: Any
    for r in rows:
        gap = f"{100 * r['gap']:.4f}" if r["gap"] is not None and math.isfinite(r["gap"]) else "-"
        print(
            f"{r['name']:<34} {r['hash']:<16} {r['status']:<6} {num(r['cost']):>18} "
            f"{num(r['bound']):>18} {r['bound_source'] or '-':<10} {gap:>9}  "
            f"{r['planner'] or '-'}"
        )
    return 0


def cmd_library_write(args: argparse.Namespace) -> int:
    from .io import write_instance
    from .library.sets import load_instance, load_set

    libset = load_set(args.set)
    inst = load_instance(libset.get(args.name), libset.source)
    write_instance(inst, args.output)
    print(
        f"{inst.name}: {len(inst.nodes)} nodes, {len(inst.links)} links, "
        f"{inst.n_requests} requests -> {args.output}"
    )
    return 0


def cmd_library_solve(args: argparse.Namespace) -> int:
    from .library.solutions import solve_set

    instances = [s for s in (args.instances or "").split(",") if s.strip()]
    methods = [s.strip() for s in args.methods.split(",") if s.strip()]
    log = (lambda msg: print(msg, file=sys.stderr)) if not args.quiet else None
    sol = solve_set(
        args.set,
        time_limit=args.time_limit,
        instances=instances,
        methods=methods,
        path=args.solutions,
        log=log,
    )
    counts = {s: sum(e.status == s for e in sol.entries.values()) for s in ("opt", "best", "open")}
    if args.json:
        _print_json({"set": args.set, "file": sol.source, **counts})
    else:
        print(
            f"{args.set}: opt {counts['opt']}, best {counts['best']}, open {counts['open']}"
            f" -> {sol.source}"
        )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .library.bench import bench

    planners = [s for s in args.planners.split(",") if s.strip()]
    instances = [s.strip() for s in (args.instances or "").split(",") if s.strip()]
    modules = [s.strip() for s in (args.modules or "").split(",") if s.strip()]
    df = bench(
        args.set,
        planners,
        args.out,
        time_limit=args.time_limit,
        instances=instances,
        scheduler=args.scheduler,
        n_workers=args.workers,
        resume=args.resume,
        modules=modules,
        progress=(not args.json and sys.stderr.isatty()) or args.progress,
    )
    from .library.report import summary_table

    summary = summary_table(df)
    path = os.path.join(args.out, "results.csv")
    if args.json:
        _print_json(
            {"results": path, "rows": len(df), "summary": summary.to_dict(orient="records")}
        )
        return 0
    import pandas as pd

    with pd.option_context(
        "display.width", 200, "display.max_columns", 20, "display.float_format", "{:,.3f}".format
    ):
        print(summary.to_string(index=False))
    print(f"\n{len(df)} rows in {path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .library.report import make_report

    res = make_report(args.results, args.output, target_pct=args.target_gap)
    if args.json:
        _print_json(res)
        return 0
    print((Path(args.output) / "summary.md").read_text(encoding="utf-8"))
    print(f"report: {Path(args.output) / 'report.html'}")
    return 0


def _rl_extra() -> Any:
    """The training module, after checking the ``rl`` extra (one line and status 2 if missing)."""
    from .rl import train

    try:
        train.require_extra()
    except train.MissingExtraError as exc:
        _fail(str(exc))
    return train


def cmd_rl_train(args: argparse.Namespace) -> int:
    train = _rl_extra()
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        _fail(f"--out {args.out}: directory {out_dir} does not exist")
    fam = train.Family(args.family, args.requests, args.max_rate)
    load_instance_arg(args.family, 0, args.max_rate, 1)  # a bad topology is one line, now
    log = (lambda msg: print(msg, file=sys.stderr)) if not args.quiet else None
    result = train.train_agent(
        args.out,
        fam,
        args.timesteps,
        args.seed,
        n_instances=args.instances,
        k=args.k,
        order=args.order,
        capacity=args.capacity,
        n_envs=args.envs,
        log=log,
    )
    if args.json:
        _print_json(result)
    return 0


def cmd_rl_evaluate(args: argparse.Namespace) -> int:
    if not os.path.isfile(args.agent):  # bad input first, whatever is installed
        raise InputError(
            "agent file not found"
            if not os.path.isdir(args.agent)
            else "is a directory, not an agent file",
            source=args.agent,
        )
    train = _rl_extra()
    fam = None
    if args.family is not None or args.requests is not None or args.max_rate is not None:
        agent = train.load_agent(args.agent)
        base = agent.meta.get("family", {})
        fam = train.Family(
            args.family if args.family is not None else base.get("topology", "usnet"),
            args.requests if args.requests is not None else base.get("requests", 60),
            args.max_rate if args.max_rate is not None else base.get("max_rate", 10),
        )
    planners = [p.strip() for p in args.planners.split(",") if p.strip()]
    from .heuristics import available_planners

    known = available_planners()
    for p in planners:
        if p not in known:
            _fail(f"--planners: unknown planner {p!r}; known: {', '.join(sorted(known))}")
    seeds = list(range(args.first_seed, args.first_seed + args.instances))
    try:
        df = train.evaluate_agent(
            args.agent, seeds, family=fam, planners=planners, time_limit=args.time_limit
        )
    except ValueError as exc:  # an agent trained on another topology or settings
        raise InputError(" ".join(str(exc).split()), source=args.agent) from None
    summary = train.summarize(df)
    if args.json:
        _print_json(
            {"rows": df.to_dict(orient="records"), "summary": summary.to_dict(orient="records")}
        )
    elif args.markdown:
        cols = list(summary.columns)
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for row in summary.itertuples(index=False):
            lines.append(
                "| "
                + " | ".join(f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row)
                + " |"
            )
        print("\n".join(lines))
    else:
        import pandas as pd

        with pd.option_context(
            "display.width",
            200,
            "display.max_columns",
            20,
            "display.float_format",
            "{:,.2f}".format,
        ):
            print(summary.to_string(index=False))
    return 0


def _int_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected non-negative integers, got {text!r}")
    return values


# --------------------------------------------------------------------------- parser


def _add_instance_args(p: argparse.ArgumentParser) -> None:
    """The instance arguments of ``compare`` and ``spfigures`` (see :func:`load_instance_arg`)."""
    p.add_argument(
        "instance",
        nargs="?",
        default="usnet",
        help="instance file, or topology name/file/topohub key (default usnet)",
    )
    p.add_argument(
        "--requests",
        type=_nonneg_int,
        default=None,
        help="requests to sample on a topology (default 20)",
    )
    p.add_argument("--max-rate", type=_nonneg_int, default=None, help="K (default 10)")
    p.add_argument("--seed", type=_nonneg_int, default=None, help="request seed (default 1)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``qkdbench`` command."""
    from . import __version__

    parser = _Parser(
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("instance", help="write an instance: topology plus seeded random requests")
    p.add_argument(
        "--topology",
        default="usnet",
        help="built-in name (usnet, nsfnet, cost239), file, or topohub key "
        "such as sndlib/germany50 (default: usnet)",
    )
    p.add_argument("--requests", type=_nonneg_int, default=20, help="number of requests")
    p.add_argument(
        "--max-rate",
        type=_nonneg_int,
        default=10,
        help="K: key rates uniform on {0..K} kbps (default 10)",
    )
    p.add_argument("--seed", type=_nonneg_int, default=1)
    p.add_argument("--span-km", dest="span_km", type=float, help="D, default 160")
    p.add_argument(
        "--key-rate-kbps",
        dest="key_rate_kbps",
        type=float,
        help="K_D, key rate of one QKD link, default 1.0",
    )
    p.add_argument(
        "--w-qkd",
        dest="W_qkd",
        type=_nonneg_int,
        help="QKD reservation capacity per arc, default 150",
    )
    p.add_argument(
        "--w-kml",
        dest="W_kml",
        type=_nonneg_int,
        help="KM reservation capacity per arc, default 50",
    )
    p.add_argument("--hop-cost", dest="hop_cost", type=float, help="cost per arc used, default 0")
    p.add_argument(
        "--demand",
        default="uniform",
        choices=("uniform", "binomial", "geometric", "heavy", "empirical"),
        help="key-rate distribution shape on {0..K} (default uniform, the paper's)",
    )
    p.add_argument(
        "--hotspots",
        type=_nonneg_int,
        default=0,
        help="number of hub nodes that appear in many requests (default 0)",
    )
    fc = p.add_mutually_exclusive_group()
    fc.add_argument(
        "--site",
        type=float,
        default=None,
        help="cost of one relay site (X1): each fiber link costs site * (2m - 1) (also with --ntn)",
    )
    fc.add_argument(
        "--fixed-charge-factor",
        dest="fixed_charge_factor",
        type=float,
        default=None,
        help="each link's fixed cost as a multiple of its expected wavelength cost (X1)",
    )
    p.add_argument(
        "--tightness",
        type=float,
        default=None,
        help="W_qkd, W_kml as a multiple of the busiest arc's load under "
        "shortest-path routing (overrides --w-qkd/--w-kml; also with --ntn)",
    )
    ntn = p.add_argument_group(
        "TN-NTN (terrestrial and non-terrestrial links, providers)",
        "turned on by --ntn, by a topology name ending in -ntn (e.g. usnet-ntn) or by any "
        "of these options; defaults and their sources: qkdbench.topologies.ntn",
    )
    ntn.add_argument(
        "--ntn",
        action="store_true",
        help="add ground stations, satellite/free-space links and providers",
    )
    ntn.add_argument(
        "--ground-stations",
        dest="ground_stations",
        type=_nonneg_int,
        help="ground stations on the farthest-apart nodes (default 4)",
    )
    ntn.add_argument(
        "--satellite-links",
        dest="satellite_links",
        type=_nonneg_int,
        help="satellite links between the farthest station pairs (default 2)",
    )
    ntn.add_argument(
        "--free-space-links",
        dest="free_space_links",
        type=_nonneg_int,
        help="free-space links between the next station pairs (default 1)",
    )
    ntn.add_argument(
        "--access-km",
        dest="access_km",
        type=float,
        help="fiber access link of each station, km (default 10)",
    )
    ntn.add_argument(
        "--weather", help="weather state probabilities (default clear=0.89,haze=0.1,cloud=0.01)"
    )
    ntn.add_argument(
        "--satellite-rates",
        dest="satellite_rates",
        help="satellite key rate per state, kbps (default clear=1,haze=0.1,cloud=0.01)",
    )
    ntn.add_argument(
        "--free-space-rates",
        dest="free_space_rates",
        help="free-space key rate per state, kbps (default clear=0.5,haze=0.05,cloud=0.005)",
    )
    ntn.add_argument("--providers", type=_nonneg_int, help="providers A, B, ... (default 2)")
    ntn.add_argument("--sites", type=_count, help="sites per provider (default 3)")
    ntn.add_argument(
        "--provider-capacity",
        dest="provider_capacity",
        type=_nonneg_int,
        help="requests each provider serves at most (default unlimited)",
    )
    ntn.add_argument(
        "--anycast",
        type=float,
        help="fraction of requests served by any provider site (default 0.5)",
    )
    ntn.add_argument(
        "--service-cost",
        dest="service_cost",
        type=float,
        help="mean service cost of a site per request (default 100000)",
    )
    ntn.add_argument(
        "--service-spread",
        dest="service_spread",
        type=float,
        help="relative spread of site service costs, 0..1 (default 0.5)",
    )
    ntn.add_argument(
        "--station-cost",
        dest="station_cost",
        type=float,
        help="fixed charge of each ground station, paid once if used (X1; default 0)",
    )
    ntn.add_argument(
        "--satellite-fixed-cost",
        dest="satellite_fixed_cost",
        type=float,
        help="fixed charge of each satellite link, paid once if used (X1; default 0)",
    )
    ntn.add_argument(
        "--free-space-fixed-cost",
        dest="free_space_fixed_cost",
        type=float,
        help="fixed charge of each free-space link, paid once if used (X1; default 0)",
    )
    p.add_argument("-o", "--output", required=True, help="instance file to write")
    p.set_defaults(func=cmd_instance)

    p = sub.add_parser("plan", help="run one planner on an instance")
    p.add_argument("instance", help="instance file")
    p.add_argument("--planner", default="coqbn", help="registry name (see `qkdbench planners`)")
    p.add_argument("--seed", type=_nonneg_int, default=None)
    p.add_argument("--time-limit", type=_seconds, default=None, help="seconds")
    p.add_argument("-o", "--output", required=True, help="plan file to write")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("evaluate", help="score a plan: expected cost, breakdown, feasibility")
    p.add_argument("instance", help="instance file")
    p.add_argument("plan", help="plan file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("planners", help="list the registered planners")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_planners)

    p = sub.add_parser("compare", help="the main job: every planner on one instance")
    _add_instance_args(p)
    p.add_argument("--planners", default=None, help="comma-separated names (default: all)")
    p.add_argument(
        "--planner-seed", type=_nonneg_int, default=0, help="seed passed to every planner"
    )
    p.add_argument(
        "--time-limit", type=_seconds, default=None, help="seconds per planner (default 20)"
    )
    p.add_argument(
        "--budget",
        type=_seconds,
        default=None,
        help="seconds for the whole comparison, shared among the planners (default 90)",
    )
    p.add_argument(
        "--bound-time",
        type=_seconds,
        default=None,
        help="also compute a Lagrangian lower bound for this many seconds (from "
        "the budget); the best bound of any source is the gap reference "
        "when no planner proves optimality",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    fmt.add_argument("--markdown", action="store_true")
    p.add_argument("--progress", action="store_true", help="show progress even when piped")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "bound",
        help="a lower bound (Lagrangian) and the certified gap of the best plan found with it",
    )
    _add_instance_args(p)
    p.add_argument(
        "--iterations", type=_count, default=2000, help="most dual iterations (default 2000)"
    )
    p.add_argument(
        "--time-limit",
        type=_seconds,
        default=None,
        help="seconds for the whole run (default: none)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_bound)

    p = sub.add_parser("spfigures", help="stochastic-programming figures: RP, EEV, VSS, WS, EVPI")
    _add_instance_args(p)
    p.add_argument(
        "--scenarios",
        type=_count,
        default=30,
        help="joint scenarios (key rates and link states) sampled for WS (default 30)",
    )
    p.add_argument(
        "--scenario-seed", type=_nonneg_int, default=0, help="seed of the scenario samples"
    )
    p.add_argument(
        "--oos-scenarios",
        type=_nonneg_int,
        default=1000,
        help="fresh scenarios for the out-of-sample scores (0: skip; default 1000)",
    )
    p.add_argument("--form", choices=("compact", "extensive"), default="compact")
    p.add_argument("--time-limit", type=_seconds, default=None, help="seconds per exact solve")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_spfigures)

    from .experiments.config import FigureConfig

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
        type=_nonneg_int,
        default=d.requests,
        help=f"requests of fig3a/b, quality, anytime (default {d.requests})",
    )
    p.add_argument(
        "--max-rate",
        type=_nonneg_int,
        default=d.max_rate,
        help=f"K of fig3a/b, fig3d, quality, anytime (default {d.max_rate})",
    )
    p.add_argument(
        "--seed", type=_nonneg_int, default=d.seed, help=f"request seed (default {d.seed})"
    )
    p.add_argument("--planner-seed", type=_nonneg_int, default=d.planner_seed)
    p.add_argument(
        "--time-limit",
        type=_seconds,
        default=d.time_limit,
        help=f"seconds per planner run (default {d.time_limit:g})",
    )
    p.add_argument(
        "--rate-requests",
        type=_nonneg_int,
        default=d.rate_requests,
        help=f"requests of fig3c (default {d.rate_requests})",
    )
    p.add_argument(
        "--rates",
        type=_int_list,
        default=list(d.rates),
        help=f"K values of fig3c, comma-separated (default {','.join(map(str, d.rates))})",
    )
    p.add_argument(
        "--counts",
        type=_int_list,
        default=list(d.counts),
        help=f"request counts of fig3d (default {','.join(map(str, d.counts))})",
    )
    p.add_argument(
        "--count-seeds",
        type=_int_list,
        default=list(d.count_seeds),
        help=f"request seeds of fig3d (default {','.join(map(str, d.count_seeds))})",
    )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_figure)

    p = sub.add_parser("sweep", help="a grid of instances and planners on Dask (TOML spec)")
    p.add_argument("spec", help="sweep specification (TOML; see docs/formats.md)")
    p.add_argument(
        "--out", default="sweep-out", help="directory of results.csv (default sweep-out)"
    )
    p.add_argument(
        "--scheduler",
        default="local",
        help="'local' (default: a LocalCluster on this machine), a Dask scheduler "
        "address such as tcp://host:8786, or 'none' (in this process)",
    )
    p.add_argument(
        "--workers", type=_count, default=2, help="worker processes of the LocalCluster (default 2)"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the sweep stored in --out, skipping stored grid points",
    )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--progress", action="store_true", help="show progress even when piped")
    p.set_defaults(func=cmd_sweep)

    lib = sub.add_parser("library", help="the instance library: sets, best known solutions")
    lsub = lib.add_subparsers(
        dest="library_command", metavar="LIBRARY_COMMAND", parser_class=_Parser
    )
    lsub.required = True
    p = lsub.add_parser("list", help="the sets and how many instances are opt / best / open")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_library_list)
    p = lsub.add_parser("show", help="a set's instances with recipes and best known values")
    p.add_argument("set")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_library_show)
    p = lsub.add_parser("write", help="write one instance of a set to an instance file")
    p.add_argument("set")
    p.add_argument("name", help="instance name (see `qkdbench library show SET`)")
    p.add_argument("-o", "--output", required=True, help="instance file to write")
    p.set_defaults(func=cmd_library_write)
    p = lsub.add_parser(
        "solve",
        help="run the Lagrangian planner and the exact solver and update the set's solutions file",
    )
    p.add_argument("set")
    p.add_argument(
        "--time-limit",
        type=_seconds,
        default=60.0,
        help="seconds per method and instance (default 60)",
    )
    p.add_argument("--instances", default=None, help="comma-separated names (default: all)")
    p.add_argument(
        "--methods",
        default="lagrangian,exact",
        help="comma-separated: lagrangian, exact (default both)",
    )
    p.add_argument(
        "--solutions",
        default=None,
        help="solutions file to update (default: the shipped one; a missing file starts empty)",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_library_solve)

    p = sub.add_parser(
        "bench", help="planners over a library set, scored against the best known solutions"
    )
    p.add_argument("set", help="library set (see `qkdbench library list`)")
    p.add_argument("--planners", required=True, help="comma-separated registry names")
    p.add_argument("--time-limit", type=_seconds, default=60.0, help="seconds per run (default 60)")
    p.add_argument("--instances", default=None, help="comma-separated names (default: all)")
    p.add_argument("--out", required=True, help="directory of results.csv")
    p.add_argument(
        "--scheduler",
        default="local",
        help="'local' (default: a LocalCluster), a Dask scheduler address, or "
        "'none' (in this process)",
    )
    p.add_argument(
        "--workers", type=_count, default=2, help="worker processes of the LocalCluster (default 2)"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the bench stored in --out, skipping stored runs",
    )
    p.add_argument(
        "--modules",
        default=None,
        help="comma-separated modules every run imports first (plug-in planners)",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument("--progress", action="store_true", help="show progress even when piped")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser(
        "report",
        help="performance profiles, gap distributions and "
        "win/tie/loss of a bench (PNG, CSV, HTML, Markdown)",
    )
    p.add_argument("results", help="results.csv written by `qkdbench bench`")
    p.add_argument("-o", "--output", required=True, help="directory of the report")
    p.add_argument(
        "--target-gap",
        type=float,
        default=1.0,
        help="target gap to the best known cost, percent, of the time profile (default 1)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_report)

    rl = sub.add_parser(
        "rl",
        help="reinforcement learning: train and evaluate a MaskablePPO agent (needs the rl extra)",
    )
    rsub = rl.add_subparsers(dest="rl_command", metavar="RL_COMMAND", parser_class=_Parser)
    rsub.required = True
    p = rsub.add_parser("train", help="train MaskablePPO on a generated family and save it")
    p.add_argument("--out", required=True, help="agent file to write (.zip)")
    p.add_argument(
        "--family",
        default="usnet",
        help="topology of the family: built-in name, file or topohub key (default usnet)",
    )
    p.add_argument("--requests", type=_count, default=60, help="requests per instance (60)")
    p.add_argument("--max-rate", type=_nonneg_int, default=10, help="K (default 10)")
    p.add_argument(
        "--timesteps", type=_count, default=100_000, help="environment steps (default 100000)"
    )
    p.add_argument("--seed", type=_nonneg_int, default=0)
    p.add_argument(
        "--instances",
        type=_count,
        default=64,
        help="training instances (request seeds from 100000; default 64)",
    )
    p.add_argument(
        "--k", type=_nonneg_int, default=4, help="candidate routes besides the shortest (default 4)"
    )
    p.add_argument("--order", choices=("instance", "cost-desc"), default="cost-desc")
    p.add_argument("--capacity", choices=("clip", "strict"), default="clip")
    p.add_argument("--envs", type=_count, default=8, help="parallel environments (default 8)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_rl_train)
    p = rsub.add_parser(
        "evaluate",
        help="a saved agent against CO-QBN, greedy and the exact optimum on held-out instances",
    )
    p.add_argument("agent", help="agent file written by `qkdbench rl train`")
    p.add_argument("--family", default=None, help="topology (default: the agent's)")
    p.add_argument("--requests", type=_count, default=None)
    p.add_argument("--max-rate", type=_nonneg_int, default=None)
    p.add_argument("--instances", type=_count, default=10, help="held-out instances (10)")
    p.add_argument(
        "--first-seed",
        type=_nonneg_int,
        default=1,
        help="request seed of the first held-out instance (default 1)",
    )
    p.add_argument(
        "--planners",
        default="coqbn,rl-greedy,saa-greedy,exact",
        help="planners run beside the agent (default coqbn,rl-greedy,saa-greedy,exact)",
    )
    p.add_argument("--time-limit", type=_seconds, default=60.0, help="seconds per planner run")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--markdown", action="store_true")
    p.set_defaults(func=cmd_rl_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.solver_log:
        if args.solver_log != "-":  # an unwritable log is bad input, found before any run
            try:
                with open(args.solver_log, "a", encoding="utf-8"):
                    pass
            except OSError as exc:
                print(
                    f"qkdbench {args.command}: error: {args.solver_log}: cannot write the "
                    f"solver log ({exc.strerror or exc})",
                    file=sys.stderr,
                )
                return 2
        # read by every HiGHS run, in this process and in Dask worker processes alike
        os.environ["QKDBENCH_SOLVER_LOG"] = args.solver_log
    try:
        return int(args.func(args) or 0)
    except (InputError, _UsageError) as exc:
        print(f"qkdbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"qkdbench {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 141
    except SolverError as exc:  # a missing or failing MILP solver is one line too
        print(f"qkdbench {args.command}: solver error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
