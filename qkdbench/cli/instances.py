"""The ``instance`` command: a topology plus seeded random requests (and joint scenarios),
written to a file.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..exceptions import InputError
from ..utils.files import check_output_file
from .options import count, fail, nonneg_int, number

__all__ = ["add_parsers", "cmd_instance", "NTN_FLAGS", "SCENARIO_FLAGS"]

#: The TN-NTN generator's parameters and their ``instance`` options.
NTN_FLAGS = {
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

#: The topology parameters ``instance`` overrides, and their options.
_PARAM_FLAGS = {
    "span_km": "--span-km",
    "key_rate_kbps": "--key-rate-kbps",
    "W_qkd": "--w-qkd",
    "W_kml": "--w-kml",
    "hop_cost": "--hop-cost",
}


def _topology(args: argparse.Namespace) -> Any:
    """The topology of ``--topology`` with the parameters given on the command line.

    A ``-ntn`` topology name turns ``args.ntn`` on.
    """
    from dataclasses import replace

    from ..topologies import load_topology
    from ..topologies.ntn import ntn_base

    overrides = {k: getattr(args, k) for k in _PARAM_FLAGS if getattr(args, k) is not None}
    base = ntn_base(args.topology)
    if base is not None:
        args.ntn = True
    topo = load_topology(base if base is not None else args.topology)
    if overrides:  # only what was given; a topology file's own parameters stay otherwise
        try:
            topo = replace(topo, params=replace(topo.params, **overrides))
        except InputError as exc:
            flag = _PARAM_FLAGS.get(exc.place[7:], exc.place)
            fail(f"{flag}: {exc.problem}")
    return topo


def _ntn_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """The TN-NTN generator's keyword arguments given on the command line, or ``None``.

    Any TN-NTN option turns the generator on, as ``--ntn`` does.
    """
    from ..topologies.ntn import parse_states

    given = {k: getattr(args, k) for k in NTN_FLAGS if getattr(args, k) is not None}
    if not args.ntn and not given:
        return None
    for key in ("weather", "satellite_rates", "free_space_rates"):
        if key in given:
            try:
                given[key] = parse_states(given[key], NTN_FLAGS[key])
            except InputError as exc:
                fail(f"{exc.place}: {exc.problem}")
    return given


def _ntn_instance(args: argparse.Namespace, topo: Any, ntn: dict[str, Any]) -> Any:
    """The TN-NTN generator's instance; a bad parameter is named by its option."""
    from ..topologies import ntn_instance

    if args.demand != "uniform" or args.hotspots or args.fixed_charge_factor is not None:
        fail(
            "--ntn (or a -ntn topology, or a TN-NTN option) cannot be combined with "
            "--demand, --hotspots or --fixed-charge-factor"
        )
    for key in ("site", "tightness"):  # the TN-NTN generator has these two knobs too
        if getattr(args, key) is not None:
            ntn[key] = getattr(args, key)
    try:
        return ntn_instance(
            topo,
            args.requests,
            max_rate=args.max_rate,
            seed=args.seed,
            name=f"{topo.name}-ntn-r{args.requests}-k{args.max_rate}-s{args.seed}",
            **ntn,
        )
    except InputError as exc:
        key = exc.place.split(".")[0]
        flag = NTN_FLAGS.get(key, f"--{key}" if key in ("site", "tightness") else key)
        fail(f"{flag}: {exc.problem}")


#: The joint-scenario and on-demand-cap options of ``instance``, by generator parameter.
SCENARIO_FLAGS = {
    "scenarios": "--scenarios",
    "correlation": "--correlation",
    "link_correlation": "--link-correlation",
    "on_demand_cap": "--on-demand-cap",
    "shortfall_factor": "--shortfall-factor",
    "seed": "--seed",
}


def _with_scenarios(args: argparse.Namespace, inst: Any) -> Any:
    """The instance with the joint scenarios and on-demand caps asked for, if any.

    A value out of range is named by its option; a scenario option without
    ``--scenarios`` is refused.
    """
    from ..planning.on_demand import scenario_instance

    if args.scenarios is None:
        given = [
            flag
            for key, flag in SCENARIO_FLAGS.items()
            if key not in ("scenarios", "seed") and getattr(args, key) is not None
        ]
        if given:
            fail(f"{given[0]} needs --scenarios N (joint scenarios of the key rates)")
        return inst
    if args.shortfall_factor is not None and args.on_demand_cap is None:
        fail("--shortfall-factor needs --on-demand-cap X (without a cap nothing falls short)")
    try:
        return scenario_instance(
            inst,
            args.scenarios,
            correlation=args.correlation if args.correlation is not None else 0.0,
            seed=args.seed,
            on_demand_cap=args.on_demand_cap,
            shortfall_factor=args.shortfall_factor,
            link_correlation=args.link_correlation if args.link_correlation is not None else 0.0,
        )
    except InputError as exc:
        flag = SCENARIO_FLAGS.get(exc.place)
        fail(f"{flag}: {exc.problem}" if flag else str(exc))


def cmd_instance(args: argparse.Namespace) -> int:
    """Write an instance file: a topology plus seeded random requests.

    The requests are uniform on ``{0..K}`` unless a design option (``--demand``,
    ``--hotspots``, ``--site``, ``--fixed-charge-factor``, ``--tightness``) asks for the
    design generator, or a TN-NTN option for the TN-NTN generator. ``--scenarios N``
    then turns the key rates into joint scenarios, with on-demand caps if
    ``--on-demand-cap`` is given (:func:`~qkdbench.planning.on_demand.scenario_instance`).

    Parameters
    ----------
    args : argparse.Namespace
        The options of ``qkdbench instance``.

    Returns
    -------
    int
        The exit status, 0, with one line on standard error naming what was written.
    """
    from ..io import write_instance
    from ..topologies import design_instance, sample_requests

    check_output_file(args.output, "-o")
    topo = _topology(args)
    knobs = (
        args.demand != "uniform"
        or args.hotspots
        or args.site is not None
        or args.fixed_charge_factor is not None
        or args.tightness is not None
    )
    ntn = _ntn_options(args)
    if ntn is not None:
        inst = _ntn_instance(args, topo, ntn)
    elif knobs:
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
            fail(f"--{exc.place.replace('_', '-')}: {exc.problem}")
    else:
        inst = sample_requests(topo, args.requests, max_rate=args.max_rate, seed=args.seed)
    inst = _with_scenarios(args, inst)
    write_instance(inst, args.output)
    extra = f", {inst.scenarios.n} joint scenarios" if inst.scenarios is not None else ""
    print(
        f"wrote {args.output}: {inst.name}, {len(inst.nodes)} nodes, {len(inst.links)} links, "
        f"{inst.n_requests} requests{extra}",
        file=sys.stderr,
    )
    return 0


def _add_topology_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--topology",
        default="usnet",
        help="built-in name (usnet, nsfnet, cost239), file, or topohub key "
        "such as sndlib/germany50 (default: usnet)",
    )
    p.add_argument("--requests", type=nonneg_int, default=20, help="number of requests")
    p.add_argument(
        "--max-rate",
        type=nonneg_int,
        default=10,
        help="K: key rates uniform on {0..K} kbps (default 10)",
    )
    p.add_argument("--seed", type=nonneg_int, default=1, help="request seed (default 1)")
    p.add_argument("--span-km", dest="span_km", type=number, help="D, default 160")
    p.add_argument(
        "--key-rate-kbps",
        dest="key_rate_kbps",
        type=number,
        help="K_D, key rate of one QKD link, default 1.0",
    )
    p.add_argument(
        "--w-qkd",
        dest="W_qkd",
        type=nonneg_int,
        help="QKD reservation capacity per arc, default 150",
    )
    p.add_argument(
        "--w-kml",
        dest="W_kml",
        type=nonneg_int,
        help="KM reservation capacity per arc, default 50",
    )
    p.add_argument("--hop-cost", dest="hop_cost", type=number, help="cost per arc used, default 0")


def _add_design_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--demand",
        default="uniform",
        choices=("uniform", "binomial", "geometric", "heavy", "empirical"),
        help="key-rate distribution shape on {0..K} (default uniform, the paper's)",
    )
    p.add_argument(
        "--hotspots",
        type=nonneg_int,
        default=0,
        help="number of hub nodes that appear in many requests (default 0)",
    )
    fc = p.add_mutually_exclusive_group()
    fc.add_argument(
        "--site",
        type=number,
        default=None,
        help="cost of one relay site: each fiber link costs site * (2m - 1) (also with --ntn)",
    )
    fc.add_argument(
        "--fixed-charge-factor",
        dest="fixed_charge_factor",
        type=number,
        default=None,
        help="each link's fixed cost as a multiple of its expected wavelength cost",
    )
    p.add_argument(
        "--tightness",
        type=number,
        default=None,
        help="W_qkd, W_kml as a multiple of the busiest arc's load under "
        "shortest-path routing (overrides --w-qkd/--w-kml; also with --ntn)",
    )


#: The TN-NTN options: (option, type, help); the destination is the generator's keyword.
_NTN_OPTIONS: tuple[tuple[str, Any, str], ...] = (
    ("--ground-stations", nonneg_int, "ground stations on the farthest-apart nodes (default 4)"),
    (
        "--satellite-links",
        nonneg_int,
        "satellite links between the farthest station pairs (default 2)",
    ),
    (
        "--free-space-links",
        nonneg_int,
        "free-space links between the next station pairs (default 1)",
    ),
    ("--access-km", number, "fiber access link of each station, km (default 10)"),
    ("--weather", None, "weather state probabilities (default clear=0.89,haze=0.1,cloud=0.01)"),
    (
        "--satellite-rates",
        None,
        "satellite key rate per state, kbps (default clear=1,haze=0.1,cloud=0.01)",
    ),
    (
        "--free-space-rates",
        None,
        "free-space key rate per state, kbps (default clear=0.5,haze=0.05,cloud=0.005)",
    ),
    ("--providers", nonneg_int, "providers A, B, ... (default 2)"),
    ("--sites", count, "sites per provider (default 3)"),
    (
        "--provider-capacity",
        nonneg_int,
        "requests each provider serves at most (default unlimited)",
    ),
    ("--anycast", number, "fraction of requests served by any provider site (default 0.5)"),
    ("--service-cost", number, "mean service cost of a site per request (default 100000)"),
    ("--service-spread", number, "relative spread of site service costs, 0..1 (default 0.5)"),
    (
        "--station-cost",
        number,
        "fixed charge of each ground station, paid once if used (default 0)",
    ),
    (
        "--satellite-fixed-cost",
        number,
        "fixed charge of each satellite link, paid once if used (default 0)",
    ),
    (
        "--free-space-fixed-cost",
        number,
        "fixed charge of each free-space link, paid once if used (default 0)",
    ),
)


def _add_ntn_args(p: argparse.ArgumentParser) -> None:
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
    for flag, kind, text in _NTN_OPTIONS:
        dest = flag[2:].replace("-", "_")
        if kind is None:
            ntn.add_argument(flag, dest=dest, help=text)
        else:
            ntn.add_argument(flag, dest=dest, type=kind, help=text)


def _add_scenario_args(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group(
        "coupled second stage (joint scenarios, on-demand caps)",
        "turned on by --scenarios; the recipe goes to the file's scenarios.recipe "
        "(qkdbench.topologies.scenarios, qkdbench.planning.on_demand)",
    )
    group.add_argument(
        "--scenarios",
        type=count,
        metavar="N",
        default=None,
        help="N equally likely joint scenarios of the key rates (Gaussian copula); each "
        "request's demand becomes the sample's marginal",
    )
    group.add_argument(
        "--correlation",
        type=number,
        metavar="RHO",
        default=None,
        help="RHO in [0, 1]: latent correlation of every two requests' key rates "
        "(one common factor; default 0, independent)",
    )
    group.add_argument(
        "--link-correlation",
        dest="link_correlation",
        metavar="RHO_L",
        type=number,
        default=None,
        help="latent correlation of the random links' states in [0, 1] (default 0)",
    )
    group.add_argument(
        "--on-demand-cap",
        dest="on_demand_cap",
        metavar="X",
        type=number,
        default=None,
        help="X >= 0: O_qkd, O_kml per link = ceil(X x the expected on-demand wavelengths "
        "of shortest-path routing with newsvendor reservations); 0: none on demand "
        "(default: unlimited)",
    )
    group.add_argument(
        "--shortfall-factor",
        dest="shortfall_factor",
        metavar="PHI",
        type=number,
        default=None,
        help="PHI >= 1: a wavelength that falls short costs PHI on-demand prices (default 10)",
    )


def add_parsers(sub: Any) -> None:
    """Add the ``instance`` command.

    Parameters
    ----------
    sub : argparse subparsers action
        The ``qkdbench`` command's subcommands.
    """
    p = sub.add_parser("instance", help="write an instance: topology plus seeded random requests")
    _add_topology_args(p)
    _add_design_args(p)
    _add_ntn_args(p)
    _add_scenario_args(p)
    p.add_argument("-o", "--output", required=True, help="instance file to write")
    p.set_defaults(func=cmd_instance)
