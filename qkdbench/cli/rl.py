"""Reinforcement-learning commands: ``rl train`` and ``rl evaluate`` (the ``rl`` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..exceptions import InputError
from ..utils.files import check_output_file
from .options import (
    Parser,
    check_planners,
    count,
    fail,
    load_instance_arg,
    nonneg_int,
    print_frame,
    print_json,
    seconds,
    stderr_log,
)

__all__ = ["add_parsers", "cmd_rl_train", "cmd_rl_evaluate", "markdown_table"]


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
        ``out``, the family (``family``, ``requests``, ``max_rate``), ``timesteps``,
        ``seed``, ``instances``, ``k``, ``order``, ``capacity``, ``envs``, ``algo``
        (with ``mappo_warm_start`` and ``mappo_bc_epochs``), ``json`` and ``quiet``.

    Returns
    -------
    int
        The exit status, 0 (without the ``rl`` extra: bad input, status 2).
    """
    check_output_file(args.out, "--out")  # before the extra is looked for: bad input first
    train = _rl_extra()
    fam = train.Family(args.family, args.requests, args.max_rate)
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
    )
    if args.json:
        print_json(result)
    return 0


def _train_mappo(args: argparse.Namespace, fam: Any) -> int:
    """``rl train --algo mappo``: the router and reserver agents (:mod:`qkdbench.rl.mappo`)."""
    from ..rl import mappo

    if args.mappo_warm_start is not None:
        from ..heuristics import available_planners

        known = available_planners()
        if args.mappo_warm_start not in known:
            fail(
                f"--mappo-warm-start: unknown planner {args.mappo_warm_start!r}; "
                f"known: {', '.join(sorted(known))}"
            )
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
        bc_planner=args.mappo_warm_start,
        bc_epochs=args.mappo_bc_epochs if args.mappo_warm_start else 0,
        log=stderr_log(args.quiet),
    )
    if args.json:
        print_json(result)
    return 0


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


def _family(train: Any, args: argparse.Namespace) -> Any:
    """The family ``rl evaluate`` draws from: the agent's, with what was given changed."""
    if args.family is None and args.requests is None and args.max_rate is None:
        return None
    base = train.load_agent(args.agent).meta.get("family", {})
    return train.Family(
        args.family if args.family is not None else base.get("topology", "usnet"),
        args.requests if args.requests is not None else base.get("requests", 60),
        args.max_rate if args.max_rate is not None else base.get("max_rate", 10),
    )


def cmd_rl_evaluate(args: argparse.Namespace) -> int:
    """Score a saved agent against other planners on held-out instances of its family.

    Parameters
    ----------
    args : argparse.Namespace
        ``agent``, the family, ``instances``, ``first_seed``, ``planners``,
        ``time_limit`` and one of ``json``, ``markdown``.

    Returns
    -------
    int
        The exit status, 0 (a missing agent file or an agent of another family is
        bad input, status 2).

    Raises
    ------
    InputError
        If the agent file is missing or a directory, or the agent does not fit the
        family (another topology or settings).
    UsageError
        Without the ``rl`` extra.
    """
    agent = Path(args.agent)
    if not agent.is_file():  # bad input first, whatever is installed
        raise InputError(
            "agent file not found"
            if not (args.agent and agent.is_dir())  # Path("") is the current directory
            else "is a directory, not an agent file",
            source=args.agent,
        )
    train = _rl_extra()
    fam = _family(train, args)
    planners = [p.strip() for p in args.planners.split(",") if p.strip()]
    from ..heuristics import available_planners

    check_planners(planners, available_planners())
    seeds = list(range(args.first_seed, args.first_seed + args.instances))
    try:
        df = train.evaluate_agent(
            args.agent, seeds, family=fam, planners=planners, time_limit=args.time_limit
        )
    except ValueError as exc:  # an agent trained on another topology or settings
        raise InputError(" ".join(str(exc).split()), source=args.agent) from None
    summary = train.summarize(df)
    if args.json:
        rows = df.to_dict(orient="records")
        print_json({"rows": rows, "summary": summary.to_dict(orient="records")})
    elif args.markdown:
        print(markdown_table(summary))
    else:
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
        "--algo",
        choices=("ppo", "mappo"),
        default="ppo",
        help="ppo: MaskablePPO on the single-agent env; mappo: a router and a reserver "
        "agent with a centralised critic on the two-agent env (default ppo)",
    )
    p.add_argument(
        "--mappo-warm-start",
        metavar="PLANNER",
        default=None,
        help="mappo: behaviour cloning on this planner's plans of the training instances "
        "before PPO (e.g. coqbn, saa-greedy)",
    )
    p.add_argument(
        "--mappo-bc-epochs",
        type=count,
        default=20,
        help="mappo: behaviour-cloning epochs of the warm start (default 20)",
    )
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_rl_train)


def _add_evaluate_parser(rsub: Any) -> None:
    p = rsub.add_parser(
        "evaluate",
        help="a saved agent against CO-QBN, greedy and the exact optimum on held-out instances",
    )
    p.add_argument("agent", help="agent file written by `qkdbench rl train`")
    p.add_argument("--family", default=None, help="topology (default: the agent's)")
    p.add_argument(
        "--requests", type=count, default=None, help="requests per instance (default: the agent's)"
    )
    p.add_argument("--max-rate", type=nonneg_int, default=None, help="K (default: the agent's)")
    p.add_argument("--instances", type=count, default=10, help="held-out instances (10)")
    p.add_argument(
        "--first-seed",
        type=nonneg_int,
        default=1,
        help="request seed of the first held-out instance (default 1)",
    )
    p.add_argument(
        "--planners",
        default="coqbn,rl-greedy,saa-greedy,exact",
        help="planners run beside the agent (default coqbn,rl-greedy,saa-greedy,exact)",
    )
    p.add_argument("--time-limit", type=seconds, default=60.0, help="seconds per planner run")
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
