"""The command line's visible text: help on every option, plain summaries, aligned tables."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qkdbench.cli import build_parser
from qkdbench.cli.options import plain_text
from tests.fixture_types import RunCli

WIDTH = 100


def _walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ("qkdbench",)
) -> Iterator[tuple[tuple[str, ...], argparse.Action | str | None]]:
    """(command path, action) for every action of every (sub)command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, subparser in action.choices.items():
                yield (*path, name), helps.get(name)
                yield from _walk(subparser, (*path, name))
        else:
            yield path, action


def test_every_option_of_every_command_has_a_help_text() -> None:
    missing = []
    n = 0
    for path, action in _walk(build_parser()):
        n += 1
        if isinstance(action, argparse.Action):
            text = action.help
            what = f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
        else:  # a subcommand's entry in its parent's list
            text, what = action, " ".join(path)
        if not text or text == argparse.SUPPRESS or not str(text).strip():
            missing.append(what)
    assert n > 150  # the walk reached every subcommand's options
    assert missing == []


def test_the_walk_finds_an_option_without_help() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    p = sub.add_parser("x", help="a command")
    p.add_argument("--bare")
    found = [a for _, a in _walk(parser) if isinstance(a, argparse.Action) and not a.help]
    assert [a.dest for a in found] == ["bare"]


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("same optimum as ``exact``.", "same optimum as exact."),
        (
            "see :func:`~qkdbench.evaluation.evaluate` and :mod:`qkdbench.rl`",
            "see evaluate and qkdbench.rl",
        ),
        ("`the paper <https://doi.org/10.1/x>`_ and `Table I`_", "the paper and Table I"),
        ("a *fast* and **exact** one", "a fast and exact one"),
        (
            "each link costs site * (2m - 1), W_qkd * 2",
            "each link costs site * (2m - 1), W_qkd * 2",
        ),
        ("no markup at all: x_1, a-b, (c)", "no markup at all: x_1, a-b, (c)"),
        ("``a`` then ``b``", "a then b"),
    ],
)
def test_plain_text_strips_inline_markup_only(text: str, plain: str) -> None:
    assert plain_text(text) == plain


def test_planners_prints_its_summaries_without_markup(run_cli: RunCli) -> None:
    text = run_cli("planners", check=True).stdout
    infos = json.loads(run_cli("planners", "--json", check=True).stdout)
    assert "`" not in text
    assert ":func:" not in text
    lines = {line.split()[0]: line for line in text.splitlines()}
    assert set(lines) == set(infos)
    for name, info in infos.items():
        # the summary as written, with ``literals`` as their text (the only markup in use)
        assert lines[name].rstrip().endswith(info["summary"].replace("``", "")), name
    assert lines["exact-extensive"].rstrip().endswith("same optimum as exact.")


def _edges(line: str) -> list[tuple[int, int]]:
    """(left, right) column of every whitespace-separated token of ``line``."""
    return [(m.start(), m.end()) for m in re.finditer(r"\S+", line)]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> dict[str, list[str]]:
    d = tmp_path_factory.mktemp("evaluate")
    out = {}
    coupled = ["--scenarios", 10, "--correlation", 0.8, "--on-demand-cap", 0.5]
    for key, topology, planner, extra in (
        ("usnet", "usnet", "coqbn", []),
        ("usnet-ntn", "usnet-ntn", "lagrangian", []),
        ("coupled", "usnet", "coqbn", coupled),
    ):
        inst, plan = d / f"{key}.json", d / f"{key}-plan.json"
        run_cli("instance", "--topology", topology, "--requests", 6, *extra, "-o", inst, check=True)
        run_cli("plan", inst, "--planner", planner, "--time-limit", 20, "-o", plan, check=True)
        out[key] = run_cli("evaluate", inst, plan, check=True).stdout.splitlines()
    return out


def test_evaluate_shows_the_shortfall_of_a_coupled_instance(
    evaluated: dict[str, list[str]],
) -> None:
    lines = evaluated["coupled"]
    row = next(line for line in lines if line.startswith("shortfall "))
    assert float(row.split()[-1].replace(",", "")) > 0  # CO-QBN reserves the mean only
    header = next(line for line in lines if line.startswith("wavelengths"))
    assert header.endswith("shortfall (exp.)")
    qkd = next(line for line in lines if line.startswith("QKD "))
    assert _edges(qkd)[-1][1] == len(header)
    assert not any("shortfall" in line for line in evaluated["usnet"])


@pytest.mark.parametrize("topology", ["usnet", "usnet-ntn", "coupled"])
def test_evaluate_component_header_is_aligned_with_its_rows(
    evaluated: dict[str, list[str]], topology: str
) -> None:
    lines = evaluated[topology]
    start = next(i for i, line in enumerate(lines) if line.startswith("component"))
    end = lines.index("", start)
    header, rows = lines[start], lines[start + 1 : end]
    heads = _edges(header)
    assert [header[a:b] for a, b in heads] == [
        "component",
        "reservation",
        "reserved-use",
        "on-demand",
        "total",
    ]
    assert len(rows) >= 7  # tx rx km si md ch hop at least
    phased = [r for r in rows if len(_edges(r)) == 5]
    first_stage = [r for r in rows if len(_edges(r)) == 2]
    assert len(phased) + len(first_stage) == len(rows)
    assert phased
    assert first_stage
    for row in phased:  # names start with the header's first column, numbers end with theirs
        cells = _edges(row)
        assert cells[0][0] == heads[0][0] == 0
        assert [b for _, b in cells[1:]] == [b for _, b in heads[1:]], row
    for row in first_stage:  # hop, site, node, service: a total only
        assert _edges(row)[1][1] == heads[-1][1], row
    # the numbers are the cost components, not just aligned: the row totals add up
    total = float(lines[0].split()[1].replace(",", ""))
    column = sum(float(row.split()[-1].replace(",", "")) for row in rows)
    assert column == pytest.approx(total, rel=1e-9)


def test_evaluate_names_long_components_without_shifting_numbers(
    evaluated: dict[str, list[str]],
) -> None:
    lines = evaluated["usnet-ntn"]
    service = next(line for line in lines if line.startswith("service "))
    header = next(line for line in lines if line.startswith("component"))
    assert _edges(service)[-1][1] == _edges(header)[-1][1]


@pytest.fixture(scope="module")
def library_json(run_cli: RunCli) -> dict[str, dict[str, Any]]:
    listing = json.loads(run_cli("library", "list", "--json", check=True).stdout)
    return {r["set"]: r for r in listing["sets"]}


def test_library_list_stays_within_the_width_and_names_every_set(
    library_json: dict[str, dict[str, Any]],
    run_cli: RunCli,
) -> None:
    lines = run_cli("library", "list", check=True).stdout.splitlines()
    assert lines
    assert max(map(len, lines)) <= WIDTH
    heads = [line for line in lines if not line.startswith(" ")]
    assert [h.split()[0] for h in heads] == list(library_json)
    start = {h.index(" instances") for h in heads}
    assert len(start) == 1  # the counts line up whatever the set names' lengths
    for h in heads:
        r = library_json[h.split()[0]]
        counts = re.search(r"(\d+) instances  opt +(\d+)  best +(\d+)  open +(\d+)", h)
        assert counts
        assert [int(g) for g in counts.groups()] == [
            r["instances"],
            r["opt"],
            r["best"],
            r["open"],
        ]
    # a description starts on its set's line; a long one goes on below, cut to three lines
    text = " ".join(line.strip() for line in lines)
    for r in library_json.values():
        words = r["description"].split()
        assert " ".join(words[:6]) in text


@pytest.mark.parametrize(
    "name", ["paper", "capacity", "design", "ntn", "large", "design-large", "coupled"]
)
def test_library_show_fits_the_width_with_columns_from_the_content(
    name: str, run_cli: RunCli
) -> None:
    data = json.loads(run_cli("library", "show", name, "--json", check=True).stdout)
    lines = run_cli("library", "show", name, check=True).stdout.splitlines()
    names = {r["name"] for r in data["instances"]}
    # every line within the width but a name longer than the width, alone on its line
    assert all(len(line) <= WIDTH or line in names for line in lines)
    header_at = next(i for i, line in enumerate(lines) if line.startswith("name "))
    described = " ".join(" ".join(lines[:header_at]).split())
    assert described == " ".join(f"set {name}: {data['description']}".split())
    header = lines[header_at]
    cols = dict(
        zip(re.findall(r"gap %|\S+", header), re.finditer(r"gap %|\S+", header), strict=True)
    )
    assert list(cols) == ["name", "hash", "status", "cost", "bound", "source", "gap %", "planner"]
    body = lines[header_at + 1 :]
    shown = iter(body)
    for r in data["instances"]:
        line = next(shown)
        if line == r["name"]:  # too long for its row: the row follows
            line = next(shown)
            assert line[: cols["hash"].start()].strip() == ""
            cells = [""] + line.split()
        else:
            cells = line.split()
            assert cells[0] == r["name"]
        assert cells[1] == r["hash"][:8]
        assert cells[2] == r["status"]
        assert cells[3] == (f"{r['cost']:,.2f}" if r["cost"] is not None else "-")
        assert cells[4] == (f"{r['bound']:,.2f}" if r["bound"] is not None else "-")
        assert cells[7] == (r["planner"] or "-")
        edges = _edges(line)[-7:]
        # left-aligned columns start under their header, right-aligned ones end under it
        for (a, b), col in zip(
            edges[:6], ["hash", "status", "cost", "bound", "source", "gap %"], strict=True
        ):
            head = cols[col]
            if col in ("cost", "bound", "gap %"):
                assert b == head.end(), (line, col)
            else:
                assert a == head.start(), (line, col)
        assert edges[-1][0] == cols["planner"].start()
    assert next(shown, None) is None


def test_bench_progress_bar_says_bench(tmp_path: Path, run_cli: RunCli) -> None:
    done = run_cli(
        "bench",
        "paper",
        "--planners",
        "coqbn",
        "--instances",
        "usnet-r10-k10-s1",
        "--out",
        tmp_path / "b",
        "--scheduler",
        "none",
        "--time-limit",
        5,
        "--progress",
        check=True,
    )
    assert re.search(r"bench: +100%\|.*\| 1/1", done.stderr), done.stderr
    assert "sweep" not in done.stderr
    assert "1 rows in" in done.stdout
