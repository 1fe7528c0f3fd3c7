"""What the command families share: number parsers, instance and Dask options, output helpers.

Every command module adds its own subcommands with these pieces, so an option that
several commands take (the instance arguments, the Dask options of ``sweep`` and
``bench``) is written once, here.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn

from ..exceptions import InputError, UsageError
from ..utils.files import read_json
from ..utils.jsonsafe import json_text
from ..utils.numbers import parse_number

__all__ = [
    "LINE_WIDTH",
    "Parser",
    "Elapsed",
    "fail",
    "int_at_least",
    "checked_number",
    "nonneg_int",
    "count",
    "number",
    "nonneg_number",
    "seconds",
    "int_list",
    "json_object",
    "print_json",
    "print_frame",
    "stderr_log",
    "progress_wanted",
    "plain_text",
    "get_planner",
    "check_planners",
    "load_instance_arg",
    "load_plan_arg",
    "add_instance_args",
    "add_dask_args",
]

#: The widest line the text tables aim at (wider content is wrapped or cut).
LINE_WIDTH = 100


def fail(message: str) -> NoReturn:
    """Stop the command as bad input: one line on standard error, exit status 2.

    Parameters
    ----------
    message : str
        The line after ``qkdbench COMMAND: error:``, naming the option or file and the problem.

    Raises
    ------
    UsageError
        Always; :func:`qkdbench.cli.main` turns it into the line and the status.
    """
    raise UsageError(message)


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (status 2)."""

    def error(self, message: str) -> NoReturn:
        """Print one line naming the problem and exit with status 2.

        Parameters
        ----------
        message : str
            What argparse found wrong.
        """
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def int_at_least(least: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer that is at least ``least``.

    Parameters
    ----------
    least : int
        The smallest value accepted.

    Returns
    -------
    callable
        ``parse(text) -> int``, raising :class:`argparse.ArgumentTypeError` for text
        that is not an integer or is below ``least``.

    Examples
    --------
    >>> int_at_least(1)("3")
    3
    """

    def parse(text: str) -> int:
        """The integer ``text`` names, if it is at least ``least``.

        Parameters
        ----------
        text : str
            The option's value.

        Returns
        -------
        int

        Raises
        ------
        argparse.ArgumentTypeError
            For text that is not an integer or a value below ``least``.
        """
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if v < least:
            raise argparse.ArgumentTypeError(f"must be >= {least}, got {v}")
        return v

    return parse


#: A count that may be zero (requests, K, capacities) and a seed (numpy wants >= 0).
nonneg_int = int_at_least(0)
#: A count that must be at least one (scenarios, workers).
count = int_at_least(1)


def checked_number(**ranges: bool) -> Callable[[str], float]:
    """An argparse ``type``: a number read by :func:`~qkdbench.utils.numbers.parse_number`.

    Parameters
    ----------
    **ranges : bool
        ``positive``, ``nonneg``: as :func:`~qkdbench.utils.numbers.check_number`.

    Returns
    -------
    callable
        ``parse(text) -> float``, raising :class:`argparse.ArgumentTypeError` for text
        that is not a finite number of magnitude at most
        :data:`~qkdbench.utils.numbers.MAX_MAGNITUDE` in the range asked for.

    Examples
    --------
    >>> checked_number(nonneg=True)("2.5")
    2.5
    """

    def parse(text: str) -> float:
        """The number ``text`` names, if finite and in range.

        Parameters
        ----------
        text : str
            The option's value.

        Returns
        -------
        float

        Raises
        ------
        argparse.ArgumentTypeError
            For text that is not such a number.
        """
        try:
            return parse_number(
                text, "", positive=ranges.get("positive", False), nonneg=ranges.get("nonneg", False)
            )
        except InputError as exc:
            raise argparse.ArgumentTypeError(exc.problem) from None

    return parse


#: A finite number (e.g. a cost or a length), at most 1e15 in magnitude.
number = checked_number()
#: A finite number at least 0 (e.g. a cost, a target gap), at most 1e15.
nonneg_number = checked_number(nonneg=True)


def seconds(text: str) -> float:
    """An argparse ``type``: a positive, finite number of seconds.

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    float

    Raises
    ------
    argparse.ArgumentTypeError
        If ``text`` is not a number, or not positive and finite.

    Examples
    --------
    >>> seconds("2.5")
    2.5
    """
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    try:
        return parse_number(text, "", positive=True)
    except InputError as exc:
        raise argparse.ArgumentTypeError(f"{exc.problem} seconds") from None


def int_list(text: str) -> list[int]:
    """An argparse ``type``: comma-separated non-negative integers (at least one).

    Parameters
    ----------
    text : str
        The option's value, e.g. ``"10,20, 30"``.

    Returns
    -------
    list of int

    Raises
    ------
    argparse.ArgumentTypeError
        If an item is not an integer, is negative, or there is none.

    Examples
    --------
    >>> int_list("10,20, 30")
    [10, 20, 30]
    """
    try:
        values = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected non-negative integers, got {text!r}")
    return values


def json_object(text: str) -> dict[str, Any]:
    """An argparse ``type``: a JSON object.

    Parameters
    ----------
    text : str
        The option's value, e.g. ``'{"site": 100000}'``.

    Returns
    -------
    dict

    Raises
    ------
    argparse.ArgumentTypeError
        If the text is not JSON or not an object.

    Examples
    --------
    >>> json_object('{"site": 100000}')
    {'site': 100000}
    """
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def print_json(obj: Any) -> None:
    """Print one strict JSON object on standard output (NaN and infinities become null).

    Parameters
    ----------
    obj : Any
        Plain data; NumPy values are made plain and other objects become their text
        (:func:`qkdbench.utils.jsonsafe.json_text`).
    """
    sys.stdout.write(json_text(obj))
    sys.stdout.write("\n")


def print_frame(frame: Any, float_format: str) -> None:
    """Print a table (a pandas DataFrame) as text, without its index.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    float_format : str
        A format of one float, e.g. ``"{:,.2f}"``.
    """
    import pandas as pd

    with pd.option_context(
        "display.width",
        200,
        "display.max_columns",
        20,
        "display.max_rows",
        500,
        "display.float_format",
        float_format.format,
    ):
        print(frame.to_string(index=False))


def stderr_log(quiet: bool) -> Callable[[str], None] | None:
    """The progress-message callback of a long command: lines on standard error, or none.

    Parameters
    ----------
    quiet : bool
        ``--quiet`` was given.

    Returns
    -------
    callable or None
        ``None`` when ``quiet``.
    """
    if quiet:
        return None
    return lambda msg: print(msg, file=sys.stderr)


def progress_wanted(args: argparse.Namespace) -> bool:
    """Whether a command shows its progress bar.

    Parameters
    ----------
    args : argparse.Namespace
        With ``json`` and ``progress``.

    Returns
    -------
    bool
        ``True`` with ``--progress``, or without ``--json`` when standard error is a terminal.
    """
    return (not args.json and sys.stderr.isatty()) or args.progress


#: An interpreted text or role (``:func:`~a.b```, `title <url>`_); literals go first.
_ROLE = re.compile(r"(?::[\w.+-]+:)?`([^`]+)`_{0,2}")


def _role_text(match: re.Match) -> str:
    text = match.group(1)
    link = re.fullmatch(r"(.*?)\s*<[^<>]*>", text, re.DOTALL)
    if link and link.group(1):  # `title <target>`: the title
        return link.group(1)
    return text[1:].rsplit(".", 1)[-1] if text.startswith("~") else text


def plain_text(text: str) -> str:
    """``text`` with its reStructuredText inline markup removed, as a terminal shows it.

    Parameters
    ----------
    text : str
        E.g. a docstring's first line.

    Returns
    -------
    str
        Literals, roles, references and emphasis replaced by their text; ``~`` roles
        keep the last name only.

    Examples
    --------
    >>> plain_text("same optimum as ``exact``; see :func:`~qkdbench.evaluation.evaluate`")
    'same optimum as exact; see evaluate'
    >>> plain_text("*fast*, **exact**, `the paper <https://doi.org/x>`_, :mod:`qkdbench.rl`")
    'fast, exact, the paper, qkdbench.rl'
    """
    text = re.sub(r"``([^`]+)``", r"\1", text)  # first: ``x`` holds `x`
    text = _ROLE.sub(_role_text, text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text)
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\1", text)


def get_planner(name: str, **params: Any) -> Any:
    """A planner of the registry by name; an unknown name is bad input.

    Parameters
    ----------
    name : str
        Registry name.
    **params
        Constructor keywords.

    Returns
    -------
    Planner

    Raises
    ------
    UsageError
        For an unknown name (the registry's message, with the known names).
    """
    from ..utils.registry import get_planner as registry_planner

    try:
        return registry_planner(name, **params)
    except KeyError as exc:
        fail(str(exc.args[0]) if exc.args else f"unknown planner {name!r}")


def check_planners(names: Iterable[str], known: Iterable[str]) -> None:
    """Refuse a ``--planners`` list naming a planner that is not registered.

    Parameters
    ----------
    names : iterable of str
        The names given.
    known : iterable of str
        The registered names.

    Raises
    ------
    UsageError
        At the first unknown name, with the known ones.
    """
    known = set(known)
    for p in names:
        if p not in known:
            fail(f"--planners: unknown planner {p!r}; known: {', '.join(sorted(known))}")


def load_instance_arg(
    text: str, requests: int | None = None, max_rate: int | None = None, seed: int | None = None
) -> Any:
    """An instance from an instance file, or a topology (name/file) plus sampled requests.

    Parameters
    ----------
    text : str
        An instance file, or a topology: built-in name, file, topohub key or TN-NTN name.
    requests, max_rate, seed : int, optional
        Requests sampled on a topology (default 20, K = 10, seed 1). Any of them given
        makes a topology of an instance file's name sampled afresh.

    Returns
    -------
    Instance

    Raises
    ------
    InputError
        For a file or topology that cannot be read.
    """
    from ..io import read_instance
    from ..topologies import load_topology, make_instance, sample_requests
    from ..topologies.ntn import ntn_base

    if Path(text).is_file() and text.lower().endswith(".json"):
        try:
            data = read_json(text)
            is_instance = not isinstance(data, dict) or "format" in data
        except InputError:
            is_instance = True  # let the instance reader name the problem
        if is_instance and requests is None and max_rate is None and seed is None:
            return read_instance(text)
    n = requests if requests is not None else 20
    k = max_rate if max_rate is not None else 10
    s = seed if seed is not None else 1
    if ntn_base(text) is not None:  # a TN-NTN name: its generator places the requests
        return make_instance(text, n, k, seed=s)
    return sample_requests(load_topology(text), n, max_rate=k, seed=s)


def load_plan_arg(instance: Any, path: str, command: str) -> Any:
    """A plan file that fits ``instance``: every route a path of it.

    Parameters
    ----------
    instance : Instance
        The instance the plan is for.
    path : str
        The plan file.
    command : str
        The command's name, for the warning line.

    Returns
    -------
    Plan
        A plan that names another instance but fits this one is returned after a
        warning line on standard error.

    Raises
    ------
    InputError
        For an unreadable or invalid file, or the first route that does not fit the
        instance (naming the plan file; when the plan names another instance, the
        error says so).
    """
    from ..evaluation import route_violations
    from ..io import read_plan

    plan = read_plan(path)
    problems = route_violations(instance, plan)
    other = bool(plan.instance_name) and plan.instance_name != instance.name
    if problems and other:  # say why the routes do not fit: it is another instance's plan
        first = problems[0]
        raise InputError(
            f"the plan names instance {plan.instance_name!r}, not {instance.name!r}, and "
            f"cannot belong to it ({first.place}: {first.problem})",
            "instance",
            path,
        )
    if problems:
        raise problems[0].located(path)
    if other:
        print(
            f"qkdbench {command}: warning: {path}: the plan names instance "
            f"{plan.instance_name!r}, not {instance.name!r}; it fits {instance.name!r} and is "
            f"scored on it",
            file=sys.stderr,
        )
    return plan


def add_instance_args(p: argparse.ArgumentParser) -> None:
    """Add the instance arguments of ``compare``, ``bound`` and ``spfigures``.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser; the values go to :func:`load_instance_arg`.
    """
    p.add_argument(
        "instance",
        nargs="?",
        default="usnet",
        help="instance file, or topology name/file/topohub key (default usnet)",
    )
    p.add_argument(
        "--requests",
        type=nonneg_int,
        default=None,
        help="requests to sample on a topology (default 20)",
    )
    p.add_argument("--max-rate", type=nonneg_int, default=None, help="K (default 10)")
    p.add_argument("--seed", type=nonneg_int, default=None, help="request seed (default 1)")


def add_dask_args(p: argparse.ArgumentParser, job: str, stored: str) -> None:
    """Add ``--scheduler``, ``--workers`` and ``--resume``: where the runs of a job go.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The parser of ``sweep`` or ``bench``.
    job : str
        What ``--resume`` continues (``"sweep"``, ``"bench"``).
    stored : str
        What ``--resume`` skips (``"grid points"``, ``"runs"``).
    """
    p.add_argument(
        "--scheduler",
        default="local",
        help="'local' (default: a LocalCluster on this machine), a Dask scheduler "
        "address such as tcp://host:8786, or 'none' (in this process)",
    )
    p.add_argument(
        "--workers", type=count, default=2, help="worker processes of the LocalCluster (default 2)"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help=f"continue the {job} stored in --out, skipping stored {stored}",
    )


class Elapsed:
    """A progress bar of elapsed seconds (against the time limit, if any) while a planner runs.

    Shown on standard error when it is a terminal (tqdm decides), ticking from a
    background thread, since a planner reports no progress of its own.

    Parameters
    ----------
    label : str
        What runs, e.g. ``"coqbn on usnet-r20-k10-s1"``.
    limit : float, optional
        The time limit, seconds.
    """

    def __init__(self, label: str, limit: float | None) -> None:
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

    def __enter__(self) -> Elapsed:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._bar.close()
