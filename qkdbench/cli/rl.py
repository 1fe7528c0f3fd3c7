"""Reinforcement-learning commands: ``rl train`` and ``rl evaluate`` (the ``rl`` extra)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import InputError
from ..utils.files import check_output_file
from .options import (
    Parser,
    check_planners,
    count,
    fail,
    json_object,
    load_instance_arg,
    nonneg_int,
    nonneg_number,
    print_frame,
    print_json,
    seconds,
    stderr_log,
)

if TYPE_CHECKING:
    from ..rl.family import Family

__all__ = ["add_parsers", "cmd_rl_train", "cmd_rl_evaluate", "markdown_table", "agent_files"]


def _rl_extra() -> Any:
    """The training module, after checking the ``rl`` extra (one line and status 2 if missing)."""
    from ..rl import train

    try:
        train.require_extra()
    except train.MissingExtraError as exc:
        fail(str(exc))
    return train


def cmd_rl_train(args: argparse.Namespace) -> int:
    """Train a MaskablePPO agent (``--algo mappo``: MAPPO) on a generated family and save it.

    Parameters
    ----------
    args : argparse.Namespace
        ``out``, the family (``family``, ``requests``, ``max_rate``, ``knobs``), ``timesteps``,
        ``seed``, ``instances``, ``k``, ``order``, ``capacity``, ``envs``, the recipe
        (``recipe``, ``demos``, ``demo_episodes``, ``demo_noise``, ``bc_epochs``), the
        vec env (``vec_env``, ``rows``, ``n_steps``), ``algo`` (``mappo``: the recipe's
        ``demos`` and ``bc_epochs`` warm-start it), ``json`` and ``quiet``.

    Returns
    -------
    int
        The exit status, 0 (without the ``rl`` extra: bad input, status 2).
    """
    check_output_file(args.out, "--out")  # before the extra is looked for: bad input first
    _check_recipe_args(args)
    from ..rl.family import Family  # the rl package (Gymnasium) only when training

    fam = Family(args.family, args.requests, args.max_rate, args.knobs or {})
    if fam.knobs:  # a bad knob is one line, before the extra and the demonstrations
        fam.instances([1])
    train = _rl_extra()
    load_instance_arg(args.family, 0, args.max_rate, 1)  # a bad topology is one line, now
    if args.algo == "mappo":
        return _train_mappo(args, fam)
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
        log=stderr_log(args.quiet),
        recipe=args.recipe,
        demos=args.demos,
        demo_episodes=args.demo_episodes,
        demo_noise=args.demo_noise,
        bc_epochs=args.bc_epochs,
        vec_env=args.vec_env,
        rows=args.rows,
        n_steps=args.n_steps,
    )
    if args.json:
        print_json(result)
    return 0


def _train_mappo(args: argparse.Namespace, fam: Any) -> int:
    """``rl train --algo mappo``: the router and reserver agents (:mod:`qkdbench.rl.mappo`)."""
    from ..rl import mappo

    warm = args.recipe == "bc+ppo"
    result = mappo.train_mappo_family(
        args.out,
        fam,
        args.timesteps,
        args.seed,
        n_instances=args.instances,
        k=args.k,
        order=args.order,
        capacity=args.capacity,
        n_envs=args.envs,
        bc_planner=args.demos if warm else None,
        bc_epochs=args.bc_epochs if warm else 0,
        log=stderr_log(args.quiet),
    )
    if args.json:
        print_json(result)
    return 0


def _check_recipe_args(args: argparse.Namespace) -> None:
    """One line and status 2 for a recipe option that cannot work (before the extra)."""
    from ..heuristics import available_planners

    if args.demos not in available_planners():
        fail(
            f"--demos: unknown planner {args.demos!r}; known: "
            f"{', '.join(sorted(available_planners()))}"
        )
    if args.demo_noise > 1.0:
        fail(f"--demo-noise: {args.demo_noise:g} is not a share in [0, 1]")
    if args.envs % args.rows:
        fail(f"--rows: {args.rows} does not divide --envs {args.envs}")
    if args.vec_env == "dummy" and args.rows != 1:
        fail("--rows: the dummy vec env steps one episode per environment; use --rows 1")
    if args.algo == "mappo" and args.recipe == "bc":
        fail("--recipe bc: --algo mappo trains with PPO (bc+ppo warm-starts it, ppo does not)")


def markdown_table(frame: Any) -> str:
    """A table (a pandas DataFrame) as Markdown, floats with two decimals.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    str
        The header, the rule and one line per row, without a final newline.

    Examples
    --------
    >>> import pandas as pd
    >>> print(markdown_table(pd.DataFrame({"planner": ["a"], "cost": [1234.5]})))
    | planner | cost |
    |---|---|
    | a | 1,234.50 |
    """
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        cells = (f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _family(args: argparse.Namespace, agent: Any) -> Family | None:
    """The family ``rl evaluate`` draws from: the agent's, with what was given changed."""
    if _family_given(args) is None:
        return None
    from ..rl.family import Family

    base = Family.from_meta(agent.meta.get("family", {}))
    return Family(
        args.family if args.family is not None else base.topology,
        args.requests if args.requests is not None else base.requests,
        args.max_rate if args.max_rate is not None else base.max_rate,
        args.knobs if args.knobs is not None else base.knobs,
    )


def _family_given(args: argparse.Namespace) -> str | None:
    """The first family option given to ``rl evaluate`` (``None``: the agent's family)."""
    for option in ("family", "requests", "max_rate", "knobs"):
        if getattr(args, option) is not None:
            return "--" + option.replace("_", "-")
    return None


def agent_files(given: list[str]) -> list[str]:
    """The agent files named on the command line: files, and the ``*.zip`` of directories.

    Parameters
    ----------
    given : list of str
        Agent files and directories of agent files.

    Returns
    -------
    list of str
        In the order given; a directory's files sorted by name.

    Raises
    ------
    InputError
        For a path that does not exist, or a directory without ``*.zip`` files.
    """
    files: list[str] = []
    for name in given:
        path = Path(name)
        if name and path.is_dir():  # Path("") is the current directory
            found = sorted(str(f) for f in path.glob("*.zip") if f.is_file())
            if not found:
                raise InputError("a directory without agent files (*.zip)", source=name)
            files += found
        elif path.is_file():
            files.append(name)
        else:
            raise InputError("agent file not found", source=name)
    return files


def _library_instances(name: str, agent: Any, source: str) -> list[Any]:
    """The instances of library set ``name`` that ``agent`` can plan (a note on stderr)."""
    from ..library.sets import load_instance, load_set
    from ..rl.heldout import fits

    entries = load_set(name).instances
    every = [load_instance(e) for e in entries]
    kept = [inst for inst in every if fits(agent, inst)]
    topology = agent.meta.get("family", {}).get("topology", "?")
    if not kept:
        raise InputError(
            f"no instance of library set {name!r} fits the agent (trained on {topology}; "
            "the set's instances have other topologies, providers or sizes)",
            source=source,
        )
    if len(kept) < len(every):
        print(
            f"library set {name}: {len(kept)} of {len(every)} instances fit the agent "
            f"(trained on {topology}); the others have another topology or providers",
            file=sys.stderr,
        )
    return kept


def _curves(runs: list[tuple[str, Any]]) -> Any:
    """The learning curves stored with the agents, one row per point."""
    import pandas as pd

    rows = [
        {"agent": path, "run": i, "seed": agent.meta.get("seed"), **point}
        for i, (path, agent) in enumerate(runs)
        for point in agent.meta.get("curve", [])
    ]
    if not rows:
        raise InputError(
            "no learning curve is stored with the agents (trained by an older qkdbench)",
            source=runs[0][0],
        )
    return pd.DataFrame(rows)


def cmd_rl_evaluate(args: argparse.Namespace) -> int:
    """Score saved agents (runs of one algorithm) against other planners on held-out instances.

    Parameters
    ----------
    args : argparse.Namespace
        ``agent`` (files and directories), the family, ``instances``, ``first_seed``,
        ``library_set``, ``planners``, ``time_limit``, ``resamples``, ``curves``,
        ``profile`` and one of ``json``, ``markdown``.

    Returns
    -------
    int
        The exit status, 0 (a missing agent file, agents of different settings or
        an agent of another family is bad input, status 2).

    Raises
    ------
    InputError
        If an agent file is missing, a directory holds none, the agents are not runs
        of one algorithm, or an agent does not fit the family (another topology or
        settings) or any instance of the library set.
    UsageError
        Without the ``rl`` extra.
    """
    files = agent_files(args.agent)  # bad input first, whatever is installed
    if args.library_set is not None and _family_given(args) is not None:
        raise InputError(
            f"--library-set takes its instances as they are: no {_family_given(args)} "
            "(nor --family, --requests, --max-rate or --knobs)",
            "rl evaluate",
        )
    for option in ("curves", "profile"):
        if getattr(args, option):
            check_output_file(getattr(args, option), f"--{option}")
    train = _rl_extra()
    from ..experiments.protocol import add_gap_to_best, profile_table, protocol_table
    from ..heuristics import available_planners
    from ..rl.heldout import evaluate_agents, held_out, load_runs

    planners = [p.strip() for p in args.planners.split(",") if p.strip()]
    check_planners(planners, available_planners())
    runs = load_runs(files)
    curves = _curves(runs) if args.curves else None
    first = runs[0][1]
    try:
        if args.library_set is not None:
            instances = _library_instances(args.library_set, first, runs[0][0])
        else:
            seeds = list(range(args.first_seed, args.first_seed + args.instances))
            instances = held_out(first, seeds, _family(args, first))
        df = evaluate_agents(runs, instances, planners=planners, time_limit=args.time_limit)
    except InputError:
        raise
    except ValueError as exc:  # an agent trained on another topology or settings
        raise InputError(" ".join(str(exc).split()), source=runs[0][0]) from None
    df = add_gap_to_best(df)
    summary = train.summarize(df)
    protocol = protocol_table(df, resamples=args.resamples)
    if curves is not None:
        curves.to_csv(args.curves, index=False)
    if args.profile:
        profile_table(df, resamples=args.resamples).to_csv(args.profile, index=False)
    caption = (
        f"IQM of the gap to the best known cost (%) over {len(runs)} run(s) x "
        f"{protocol['instances'].max()} instance(s), 95% stratified-bootstrap intervals "
        "over runs; P(gap < coqbn's)"
    )
    if args.json:
        print_json(
            {
                "rows": df.to_dict(orient="records"),
                "summary": summary.to_dict(orient="records"),
                "protocol": protocol.to_dict(orient="records"),
                "agents": [path for path, _ in runs],
            }
        )
    elif args.markdown:
        print(f"{caption}\n\n{markdown_table(protocol)}\n\n{markdown_table(summary)}")
    else:
        print(caption)
        print_frame(protocol, "{:,.3f}")
        print()
        print_frame(summary, "{:,.2f}")
    return 0


def _add_train_parser(rsub: Any) -> None:
    p = rsub.add_parser(
        "train", help="train MaskablePPO (or MAPPO: --algo mappo) on a generated family"
    )
    p.add_argument("--out", required=True, help="agent file to write (.zip)")
    p.add_argument(
        "--family",
        default="usnet",
        help="topology of the family: built-in name, file or topohub key (default usnet)",
    )
    p.add_argument("--requests", type=count, default=60, help="requests per instance (60)")
    p.add_argument("--max-rate", type=nonneg_int, default=10, help="K (default 10)")
    p.add_argument(
        "--knobs",
        type=json_object,
        default=None,
        help="generator knobs of the family as a JSON object of recipe keys, e.g. "
        '\'{"ground_stations": 6, "fixed_charge_factor": 10}\' (default: none)',
    )
    p.add_argument(
        "--timesteps", type=count, default=100_000, help="environment steps (default 100000)"
    )
    p.add_argument(
        "--seed",
        type=nonneg_int,
        default=0,
        help="seed of the policy, the environments and the instance draws (default 0)",
    )
    p.add_argument(
        "--instances",
        type=count,
        default=64,
        help="training instances (request seeds from 100000; default 64)",
    )
    p.add_argument(
        "--k", type=nonneg_int, default=4, help="candidate routes besides the shortest (default 4)"
    )
    p.add_argument(
        "--order",
        choices=("instance", "cost-desc"),
        default="cost-desc",
        help="order the requests are placed in: the instance's, or by decreasing "
        "stand-alone cost (default cost-desc)",
    )
    p.add_argument(
        "--capacity",
        choices=("clip", "strict"),
        default="clip",
        help="clip: a level is reserved clipped to each arc's remaining capacity; strict: "
        "a level that does not fit on every arc of the route is masked out (default clip)",
    )
    p.add_argument("--envs", type=count, default=8, help="parallel environments (default 8)")
    p.add_argument(
        "--recipe",
        choices=("bc+ppo", "ppo", "bc"),
        default="bc+ppo",
        help="bc+ppo: clone --demos, then --timesteps of gentle PPO; ppo: PPO from "
        "scratch; bc: the cloning only (default bc+ppo)",
    )
    p.add_argument(
        "--demos",
        default="rl-greedy",
        metavar="PLANNER",
        help="expert cloned by bc recipes: rl-greedy (perturbed episodes possible) or a "
        "registered planner, its plans projected on the actions (default rl-greedy)",
    )
    p.add_argument(
        "--demo-episodes",
        type=count,
        default=8,
        help="rl-greedy demonstration episodes per training instance (default 8)",
    )
    p.add_argument(
        "--demo-noise",
        type=nonneg_number,
        default=0.2,
        help="share of random actions in all but the first rl-greedy episode (default 0.2)",
    )
    p.add_argument(
        "--bc-epochs", type=count, default=15, help="behaviour-cloning epochs (default 15)"
    )
    p.add_argument(
        "--vec-env",
        choices=("pool", "dummy"),
        default="pool",
        help="pool: groups of --rows episodes of one instance, each stepped in one "
        "Numba call; dummy: SB3's DummyVecEnv (default pool)",
    )
    p.add_argument(
        "--rows",
        type=count,
        default=1,
        help="episodes per group of the pool vec env; divides --envs (default 1)",
    )
    p.add_argument(
        "--n-steps",
        type=count,
        default=512,
        help="PPO rollout steps per environment (default 512)",
    )
    p.add_argument(
        "--algo",
        choices=("ppo", "mappo"),
        default="ppo",
        help="ppo: MaskablePPO on the single-agent env; mappo: a router and a reserver "
        "agent with a centralised critic on the two-agent env; its warm start is "
        "--recipe bc+ppo's --demos and --bc-epochs (default ppo)",
    )
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_rl_train)


def _add_evaluate_parser(rsub: Any) -> None:
    p = rsub.add_parser(
        "evaluate",
        help="saved agents against CO-QBN, greedy and the exact optimum on held-out "
        "instances: IQM of the gap with bootstrap intervals, P(better than CO-QBN)",
    )
    p.add_argument(
        "agent",
        nargs="+",
        help="agent files written by `qkdbench rl train`, or directories of them (*.zip): "
        "the training seeds of one algorithm",
    )
    p.add_argument("--family", default=None, help="topology (default: the agent's)")
    p.add_argument(
        "--requests", type=count, default=None, help="requests per instance (default: the agent's)"
    )
    p.add_argument("--max-rate", type=nonneg_int, default=None, help="K (default: the agent's)")
    p.add_argument(
        "--knobs",
        type=json_object,
        default=None,
        help="generator knobs as a JSON object of recipe keys (default: the agent's; '{}': none)",
    )
    p.add_argument("--instances", type=count, default=10, help="held-out instances (10)")
    p.add_argument(
        "--first-seed",
        type=nonneg_int,
        default=1,
        help="request seed of the first held-out instance (default 1)",
    )
    p.add_argument(
        "--library-set",
        default=None,
        metavar="SET",
        help="held out: the instances of this library set the agents fit (e.g. ntn, for "
        "agents of a *-ntn family) instead of generated ones",
    )
    p.add_argument(
        "--planners",
        default="coqbn,rl-greedy,saa-greedy,exact",
        help="planners run beside the agent (default coqbn,rl-greedy,saa-greedy,exact)",
    )
    p.add_argument("--time-limit", type=seconds, default=60.0, help="seconds per planner run")
    p.add_argument(
        "--resamples",
        type=count,
        default=2000,
        help="bootstrap resamples of the intervals (default 2000; seeded)",
    )
    p.add_argument(
        "--curves",
        default=None,
        metavar="CSV",
        help="write the agents' learning curves (cost against CO-QBN on the training "
        "instances by environment steps) to this file",
    )
    p.add_argument(
        "--profile",
        default=None,
        metavar="CSV",
        help="write each planner's performance profile (the fraction of its gaps within "
        "each of 21 thresholds, with intervals) to this file",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print one JSON object")
    fmt.add_argument("--markdown", action="store_true", help="print the summary as Markdown")
    p.set_defaults(func=cmd_rl_evaluate)


def add_parsers(sub: Any) -> None:
    """Add ``rl`` with its ``train`` and ``evaluate``.

    Parameters
    ----------
    sub : argparse subparsers action
        The ``qkdbench`` command's subcommands.
    """
    rl = sub.add_parser(
        "rl",
        help="reinforcement learning: train and evaluate a MaskablePPO agent (needs the rl extra)",
    )
    rsub = rl.add_subparsers(dest="rl_command", metavar="RL_COMMAND", parser_class=Parser)
    rsub.required = True
    _add_train_parser(rsub)
    _add_evaluate_parser(rsub)
