"""``rl train --algo mappo``: its bad options are one line and status 2, with or without
the rl extra. The tests that train or run the nets need torch and live in
``tests-rl/test_mappo.py``."""

from __future__ import annotations

from pathlib import Path

from tests.fixture_types import OneLineError, RunCli


def test_a_bad_algo_is_one_line(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    res = run_cli("rl", "train", "--out", tmp_path / "a.zip", "--algo", "sac")
    one_line_error(res, "--algo", "invalid choice", "'sac'")
    assert not (tmp_path / "a.zip").exists()


def test_an_unknown_warm_start_planner_is_one_line(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    """Checked before the rl extra is looked for, so with or without it."""
    out = tmp_path / "a.zip"
    res = run_cli("rl", "train", "--out", out, "--algo", "mappo", "--demos", "nope")
    one_line_error(res, "--demos", "unknown planner 'nope'")
    res = run_cli("rl", "train", "--out", out, "--algo", "mappo", "--recipe", "bc")
    one_line_error(res, "--recipe bc", "--algo mappo")
