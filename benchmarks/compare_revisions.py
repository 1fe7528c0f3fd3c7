"""Compare the benchmarks of two git revisions on this machine, interleaved.

What asv's ``continuous`` does, for pytest-benchmark: each revision is exported from
git (``git archive``) and installed with ``pip`` into its own virtual environment;
the benchmark suite (or a ``-k`` subset) then runs ``--rounds`` times on each,
alternating base and head (base, head, head, base, base, head, ...) so that drifting
machine load falls on both alike. Every run writes ``--benchmark-json``; the median of
each benchmark in each run is one sample. Speed is compared statistically (ratio of
medians, bootstrap confidence interval, one-sided Mann-Whitney U test; see
``benchmarks/tracking_stats.py``), recorded quality (costs, gaps, statuses, work
counters in ``extra_info``) exactly.

Usage (from a checkout)::

    python benchmarks/compare_revisions.py                  # merge base with main vs working tree
    python benchmarks/compare_revisions.py -k kernel --rounds 6
    python benchmarks/compare_revisions.py --base v0.1 --head HEAD
    python benchmarks/compare_revisions.py --from-results DIR   # report on saved runs

Exit status: 0 nothing flagged, 1 a timing regression, a changed quality value or a
failing benchmark, 2 bad input (one-line error). Environments are cached per source
tree (by git tree hash) under ``--cache-dir``; a second comparison of the same trees
installs nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, NoReturn, overload

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tracking_stats import compare_runs, exit_status, format_report  # noqa: E402

__all__ = ["main", "Env", "resolve_tree", "ensure_env", "run_benchmarks"]

WORKTREE = "worktree"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qkdbench-compare"


class InputError(Exception):
    """Bad input: reported as one line, exit status 2."""


class BenchmarkFailure(Exception):
    """A benchmark failed (an assertion in it): reported, exit status 1."""


@dataclasses.dataclass(frozen=True)
class Env:
    """One revision installed in its own virtual environment.

    Attributes
    ----------
    label : str
        What the user asked for (``HEAD~1``, ``worktree``...) and the commit.
    tree : str
        Git tree hash of the installed sources.
    root : Path
        ``src/`` (the exported tree) and ``venv/`` live here.
    """

    label: str
    tree: str
    root: Path

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def python(self) -> Path:
        return self.root / "venv" / "bin" / "python"


def _git(repo: Path, *args: str, env: dict | None = None) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise InputError(f"git {' '.join(args)}: {out.stderr.strip().splitlines()[-1:]}")
    return out.stdout.strip()


def repo_root(start: Path) -> Path:
    """The top of the git work tree containing ``start``."""
    try:
        return Path(_git(start, "rev-parse", "--show-toplevel"))
    except InputError:
        raise InputError(f"{start} is not inside a git work tree") from None


def default_base(repo: Path) -> str:
    """The merge base of ``HEAD`` with ``origin/main`` (else ``main``)."""
    for ref in ("origin/main", "main"):
        try:
            _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except InputError:
            continue
        return _git(repo, "merge-base", "HEAD", ref)
    raise InputError(f"{repo}: no 'origin/main' or 'main' to take a merge base with; give --base")


def resolve_tree(repo: Path, rev: str) -> tuple[str, str]:
    """``(label, tree hash)`` of a revision, or of the working tree for ``"worktree"``.

    The working tree (tracked files with their uncommitted changes and untracked
    files that are not ignored) is hashed through a temporary index, so nothing in
    the user's index or work tree changes.
    """
    if rev == WORKTREE:
        index = Path(_git(repo, "rev-parse", "--git-path", "index"))
        if not index.is_absolute():
            index = repo / index
        with tempfile.TemporaryDirectory() as tmp:
            tmp_index = Path(tmp) / "index"
            if index.exists():
                shutil.copy(index, tmp_index)
            env = dict(os.environ, GIT_INDEX_FILE=str(tmp_index))
            _git(repo, "add", "-A", env=env)
            tree = _git(repo, "write-tree", env=env)
        return f"worktree (on {_git(repo, 'rev-parse', '--short', 'HEAD')})", tree
    try:
        commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except InputError:
        raise InputError(f"revision {rev!r} is not a commit in {repo}") from None
    tree = _git(repo, "rev-parse", f"{commit}^{{tree}}")
    subject = _git(repo, "log", "-1", "--format=%h %s", commit)
    return f"{rev} = {subject[:60]}", tree


def ensure_env(
    repo: Path,
    label: str,
    tree: str,
    cache: Path,
    slot: str = "",
    reuse: bool = True,
    log: Callable[[str], object] = print,
) -> Env:
    """Export ``tree`` and install it (with its ``test`` extra) into a fresh venv.

    Reused when ``cache/<tree>[slot]`` holds a finished install and ``reuse``.
    """
    root = cache / (tree[:16] + slot)
    env = Env(label, tree, root)
    ready = root / "ready.json"
    if reuse and ready.exists():
        log(f"reusing the environment of {label} in {root}")
        return env
    if root.exists():
        shutil.rmtree(root)
    env.src.mkdir(parents=True)
    log(f"installing {label} into {root} ...")
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", tree], capture_output=True
    )
    if archive.returncode != 0:
        raise InputError(f"git archive {tree}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(env.src)], input=archive.stdout, check=True)
    logf = root / "install.log"
    with logf.open("w") as fh:
        for cmd in (
            [sys.executable, "-m", "venv", str(root / "venv")],
            [str(env.python), "-m", "pip", "install", f"{env.src}[test]"],
        ):
            if (
                subprocess.run(
                    cmd, stdout=fh, stderr=subprocess.STDOUT, env=_clean_env()
                ).returncode
                != 0
            ):
                raise InputError(f"installing {label} failed (see {logf})")
    where = subprocess.run(
        [str(env.python), "-P", "-c", "import qkdbench, sys; print(qkdbench.__file__)"],
        cwd=env.src,
        capture_output=True,
        text=True,
        env=_clean_env(),
    )
    if where.returncode != 0 or str(root / "venv") not in where.stdout:
        raise InputError(
            f"{label}: qkdbench is not imported from its environment "
            f"({where.stdout.strip() or where.stderr.strip()[-200:]})"
        )
    ready.write_text(json.dumps({"label": label, "tree": tree}))
    return env


_CHILD_ENV: dict[str, str] = {}


def _clean_env() -> dict[str, str]:
    """The environment of the child processes: no PYTHONPATH pointing at some checkout,
    plus the settings of this comparison (``--numba-threads``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(_CHILD_ENV)
    return env


@overload
def run_benchmarks(
    env: Env,
    out: Path,
    select: str | None,
    extra: Sequence[str] = (),
    warmup: Literal[False] = False,
) -> dict[str, Any]: ...


@overload
def run_benchmarks(
    env: Env, out: None, select: str | None, extra: Sequence[str] = (), *, warmup: Literal[True]
) -> None: ...


def run_benchmarks(
    env: Env, out: Path | None, select: str | None, extra: Sequence[str] = (), warmup: bool = False
) -> dict[str, Any] | None:
    """One pytest-benchmark run of ``env``'s own ``benchmarks/``; its JSON result.

    Raises
    ------
    InputError
        If nothing was selected or pytest could not run.
    BenchmarkFailure
        If a benchmark failed.
    """
    cmd = [
        str(env.python),
        "-P",
        "-m",
        "pytest",
        "benchmarks",
        "-q",
        "--no-header",
        "-p",
        "no:cacheprovider",
    ]
    if warmup:
        cmd += ["--benchmark-disable", "--ignore=benchmarks/bench_tracking.py"]
    else:
        cmd += ["--benchmark-enable", "--benchmark-only", f"--benchmark-json={out}"]
    if select:
        cmd += ["-k", select]
    cmd += list(extra)
    proc = subprocess.run(cmd, cwd=env.src, capture_output=True, text=True, env=_clean_env())
    if proc.returncode == 5:
        raise InputError(
            f"no benchmark selected in {env.label}" + (f" by -k {select!r}" if select else "")
        )
    if proc.returncode == 1:
        failed = [ln for ln in proc.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
        raise BenchmarkFailure(
            f"benchmarks fail in {env.label}: "
            + "; ".join(failed[:5] or proc.stdout.splitlines()[-3:])
        )
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:]
        raise InputError(f"pytest could not run in {env.label} (status {proc.returncode}): {tail}")
    if warmup:
        return None
    assert out is not None, "a timed run needs a result file"
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _load_results(folder: Path) -> tuple[list[dict], list[dict]]:
    if not folder.is_dir():
        raise InputError(f"{folder}: not a directory of results")
    runs: dict[str, list[dict]] = {"base": [], "head": []}
    for role in runs:
        for f in sorted(folder.glob(f"{role}-*.json")):
            try:
                runs[role].append(json.loads(f.read_text()))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
                raise InputError(f"{f}: not a JSON result ({e})") from None
    if not runs["base"] or not runs["head"]:
        raise InputError(
            f"{folder}: needs base-*.json and head-*.json results (as --results-dir writes)"
        )
    return runs["base"], runs["head"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, status 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="compare_revisions.py",
        description="Compare the benchmarks of two git revisions, interleaved on "
        "this machine: speed statistically, quality exactly.",
    )
    p.add_argument(
        "--base", help="base revision (default: merge base of HEAD with origin/main or main)"
    )
    p.add_argument(
        "--head",
        default=WORKTREE,
        help="head revision, or 'worktree' (default) for the working tree "
        "with its uncommitted and untracked files",
    )
    p.add_argument("-k", dest="select", help="pytest -k expression selecting benchmarks")
    p.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="runs per revision, interleaved (default 5; at least 4 are needed for p < 0.05)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=1.10,
        help="smallest slowdown (ratio of medians) flagged (default 1.10)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="significance level of the rank test (default 0.05)",
    )
    p.add_argument(
        "--level",
        type=float,
        default=0.95,
        help="confidence level of the bootstrap interval (default 0.95)",
    )
    p.add_argument(
        "--pytest-args",
        default="",
        help="more pytest arguments for every run, e.g. \"-m 'not slow' --benchmark-max-time=0.5\"",
    )
    p.add_argument(
        "--numba-threads",
        type=int,
        help="NUMBA_NUM_THREADS for every run (both revisions). 1 makes the "
        "parallel kernels' timings meaningful on a loaded machine, where "
        "their threads wait for a core (default: Numba's own)",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"where environments are kept (default {DEFAULT_CACHE})",
    )
    p.add_argument(
        "--no-reuse-env",
        dest="reuse",
        action="store_false",
        help="reinstall even if a cached environment of the same tree exists",
    )
    p.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="skip the untimed first run per environment (compiles and caches the Numba kernels)",
    )
    p.add_argument(
        "--results-dir",
        type=Path,
        help="keep each run's --benchmark-json here (base-NN.json, head-NN.json)",
    )
    p.add_argument(
        "--from-results",
        type=Path,
        metavar="DIR",
        help="do not run anything: report on the runs saved in DIR",
    )
    p.add_argument(
        "--json", type=Path, dest="json_out", help="also write the comparison as JSON to this file"
    )
    p.add_argument(
        "--repo",
        type=Path,
        default=Path.cwd(),
        help="the git checkout (default: the current directory)",
    )
    return p


def _check_settings(a: argparse.Namespace) -> None:
    if a.rounds < 2:
        raise InputError(f"--rounds {a.rounds}: at least 2 runs per revision")
    if not a.threshold > 1.0:
        raise InputError(f"--threshold {a.threshold}: must be above 1 (a ratio of medians)")
    if not 0.0 < a.alpha < 1.0:
        raise InputError(f"--alpha {a.alpha}: must be in (0, 1)")
    if not 0.0 < a.level < 1.0:
        raise InputError(f"--level {a.level}: must be in (0, 1)")
    if a.numba_threads is not None:
        if a.numba_threads < 1:
            raise InputError(f"--numba-threads {a.numba_threads}: at least 1")
        _CHILD_ENV["NUMBA_NUM_THREADS"] = str(a.numba_threads)


def _compare(
    a: argparse.Namespace, log: Callable[[str], object]
) -> tuple[list[dict], list[dict], str]:
    repo = repo_root(a.repo)
    base_rev = a.base or default_base(repo)
    base_label, base_tree = resolve_tree(repo, base_rev)
    head_label, head_tree = resolve_tree(repo, a.head)
    a.cache_dir.mkdir(parents=True, exist_ok=True)
    base = ensure_env(repo, base_label, base_tree, a.cache_dir, "", a.reuse, log)
    # the same tree twice (a self-comparison) still gets two environments
    head = ensure_env(
        repo,
        head_label,
        head_tree,
        a.cache_dir,
        "-2" if head_tree == base_tree else "",
        a.reuse,
        log,
    )
    extra = shlex.split(a.pytest_args)
    if a.warmup:
        for env in (base, head):
            log(f"warm-up run of {env.label}")
            run_benchmarks(env, None, a.select, extra, warmup=True)
    keep = a.results_dir
    tmp = None
    if keep is None:
        tmp = tempfile.TemporaryDirectory()
        keep = Path(tmp.name)
    keep.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict]] = {"base": [], "head": []}
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    try:
        for i in range(a.rounds):
            order = [("base", base), ("head", head)]
            if i % 2:
                order.reverse()
            for role, env in order:
                log(f"round {i + 1}/{a.rounds}: {role}")
                runs[role].append(
                    run_benchmarks(env, keep / f"{role}-{i:02d}.json", a.select, extra)
                )
    finally:
        if tmp is not None:
            tmp.cleanup()
    header = (
        f"base: {base_label} [tree {base_tree[:10]}]\n"
        f"head: {head_label} [tree {head_tree[:10]}]\n"
        f"{a.rounds} interleaved runs each"
        + (f", -k {a.select!r}" if a.select else "")
        + (f", {a.pytest_args}" if a.pytest_args else "")
        + (f", NUMBA_NUM_THREADS={a.numba_threads}" if a.numba_threads else "")
        + f"; {time.perf_counter() - t0:.0f} s; load average {load0:.2f} -> "
        f"{os.getloadavg()[0]:.2f}"
    )
    return runs["base"], runs["head"], header


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison; the exit status (0 OK, 1 flagged, 2 bad input).

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
    """
    a = _parser().parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        _check_settings(a)
        if a.from_results is not None:
            base_runs, head_runs = _load_results(a.from_results)
            header = f"runs read from {a.from_results}"
        else:
            base_runs, head_runs, header = _compare(a, log)
        try:
            cmp = compare_runs(base_runs, head_runs, a.threshold, a.alpha, a.level)
        except ValueError as e:
            raise InputError(str(e)) from None
        if not cmp.timings:
            raise InputError("base and head have no benchmark in common")
        print(header)
        print(format_report(cmp))
        if a.json_out is not None:
            a.json_out.write_text(json.dumps(dataclasses.asdict(cmp), indent=1))
        return exit_status(cmp)
    except InputError as e:
        print(f"compare_revisions.py: error: {e}", file=sys.stderr)
        return 2
    except BenchmarkFailure as e:
        print(f"compare_revisions.py: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
