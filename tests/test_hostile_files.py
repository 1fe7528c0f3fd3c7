"""Hostile files, by class: every number field, every file reader, every type.

Each test enumerates the class from the data itself (every numeric leaf of a full
instance file, every JSON reader of the package), so a field or a reader added later
is covered without a new test. Truth: a value the cap refuses is one whose sums could
overflow, and every refusal is one ``InputError`` line naming the file and the JSON
path of the field.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qkdbench.exceptions import InputError
from qkdbench.experiments.sweep_spec import read_spec
from qkdbench.io import instance_to_dict, plan_to_dict, read_instance, read_plan
from qkdbench.library.sets import read_set
from qkdbench.library.solutions import read_solutions
from qkdbench.topologies import load_topology, ntn_instance, read_node_link
from qkdbench.utils.numbers import MAX_MAGNITUDE, check_number
from qkdbench.utils.registry import get_planner

#: Keys whose numbers are identifiers (node ids), not quantities.
ID_KEYS = {"id", "u", "v", "source", "target", "node", "path"}
#: Number literals no field may hold, as JSON text: each is refused at the field's path.
HOSTILE_NUMBERS = {
    "int beyond a float": "1" + "0" * 400,
    "finite but overflowing": "1e308",
    "negative overflowing": "-1e308",
    "NaN": "NaN",
    "Infinity": "-Infinity",
    "a string": '"7"',
    "a boolean": "true",
}
SENTINEL = "__HOSTILE__"


def full_instance() -> dict[str, Any]:
    """An instance file using every number field there is (extensions included)."""
    inst = ntn_instance(
        "nsfnet", 4, max_rate=2, seed=1, station_cost=5.0, satellite_fixed_cost=7.0, site=3.0,
        provider_capacity=3,
    )  # fmt: skip
    data = instance_to_dict(inst)
    data["links"][0].update(W_qkd=10, W_kml=5, span_km=80.0, key_rate_kbps=2.0)
    return data


def numeric_leaves(value: Any, place: str = "") -> Iterator[tuple[str, tuple]]:
    """``(JSON path, key path)`` of every number that is not an identifier."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in ID_KEYS:
                yield from (
                    (p, (k, *kp)) for p, kp in numeric_leaves(v, f"{place}.{k}" if place else k)
                )
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from ((p, (i, *kp)) for p, kp in numeric_leaves(v, f"{place}[{i}]"))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield place, ()


def one_of_each_kind(data: Any) -> dict[str, tuple[str, tuple]]:
    """The first leaf of each field kind (``links[].length_km``...)."""
    kinds: dict[str, tuple[str, tuple]] = {}
    for place, keys in numeric_leaves(data):
        kinds.setdefault(re.sub(r"\[\d+\]", "[]", place), (place, keys))
    return kinds


def with_literal(data: Any, keys: tuple, literal: str) -> str:
    """``data`` as JSON text with the leaf at ``keys`` replaced by ``literal`` (any text)."""
    copy = json.loads(json.dumps(data))
    target = copy
    for k in keys[:-1]:
        target = target[k]
    target[keys[-1]] = SENTINEL
    return json.dumps(copy).replace(f'"{SENTINEL}"', literal)


def assert_refused(read: Callable[[Path], Any], path: Path, place: str) -> None:
    with pytest.raises(InputError) as info:
        read(path)
    text = str(info.value)
    assert "\n" not in text, text
    assert info.value.source == str(path), text
    assert info.value.place == place, text


INSTANCE = full_instance()
INSTANCE_FIELDS = one_of_each_kind(INSTANCE)


def test_the_full_instance_uses_every_number_field_of_the_format() -> None:
    kinds = set(INSTANCE_FIELDS)
    for field in ("params.hop_cost", "costs.r.site", "costs.o.ch", "nodes[].fixed_cost",
                  "links[].length_km", "links[].W_qkd", "links[].W_kml", "links[].span_km",
                  "links[].key_rate_kbps", "links[].key_rate_kbps.values[]",
                  "links[].fixed_cost", "links[].unit_costs.km.o",
                  "requests[].targets[].service_cost", "requests[].demand.probs[]",
                  "providers[].capacity"):  # fmt: skip
        assert field in kinds, field
    assert read_instance_text(json.dumps(INSTANCE)).n_requests == 4


def read_instance_text(text: str) -> Any:
    from qkdbench.io import instance_from_dict
    from qkdbench.utils.files import parse_json

    return instance_from_dict(parse_json(text))


@pytest.mark.parametrize("kind", sorted(INSTANCE_FIELDS))
def test_every_number_field_of_an_instance_refuses_every_hostile_number(
    tmp_path: Path, kind: str
) -> None:
    place, keys = INSTANCE_FIELDS[kind]
    path = tmp_path / "i.json"
    for literal in HOSTILE_NUMBERS.values():
        path.write_text(with_literal(INSTANCE, keys, literal))
        assert_refused(read_instance, path, place)


def test_every_number_field_of_a_plan_refuses_every_hostile_number(tmp_path: Path) -> None:
    from qkdbench.topologies import make_instance

    plan = get_planner("coqbn").plan(make_instance("nsfnet", 3, 2, seed=1))
    data = plan_to_dict(plan)
    fields = one_of_each_kind({"requests": data["requests"]})
    assert set(fields) == {"requests[].reserve_qkd[]", "requests[].reserve_km[]"}
    path = tmp_path / "p.json"
    for place, keys in fields.values():
        for literal in HOSTILE_NUMBERS.values():
            path.write_text(with_literal(data, keys, literal))
            assert_refused(read_plan, path, place)


def test_the_cap_keeps_every_sum_of_capped_values_finite() -> None:
    # a million values at the cap, each times a count at its cap, sum to far below a float's max
    assert sys.float_info.max > MAX_MAGNITUDE * 1e9 * 1e6 * 1e9
    assert check_number(MAX_MAGNITUDE, "x") == MAX_MAGNITUDE
    with pytest.raises(InputError, match="at most 1e"):
        check_number(MAX_MAGNITUDE * 1.01, "x")


# ------------------------------------------------------------- every reader, the decoder's errors


def _solutions(path: Path) -> Any:
    return read_solutions("paper", path)


def _spec(path: Path) -> Any:
    return read_spec(path)


#: Every reader of a JSON file, by name.
JSON_READERS: dict[str, Callable[[Path], Any]] = {
    "instance": read_instance,
    "plan": read_plan,
    "node-link topology": read_node_link,
    "topology (.json)": lambda p: load_topology(str(p)),
    "solutions": _solutions,
    "set": read_set,
}
#: Texts the JSON decoder itself refuses or would misread: (text, place, problem).
DECODER_TRAPS = {
    "integer literal of 5000 digits": ('{"format": ' + "1" * 5000 + "}", "", "4300 digits"),
    "nesting 100,000 deep": ("[" * 100_000, "", "nested too deeply"),
    "duplicate key": ('{"format": "x", "a": [{"b": 1, "b": 2}]}', "a[0].b", "duplicate key 'b'"),
    "duplicate top-level key": ('{"format": "x", "format": "y"}', "format", "duplicate key"),
    "cut short": ('{"format": "qkdbench-instance/1", "nodes": [', "line 1 column 45", "malformed"),
}


@pytest.mark.parametrize("reader", sorted(JSON_READERS))
@pytest.mark.parametrize("trap", sorted(DECODER_TRAPS))
def test_every_json_reader_refuses_what_the_decoder_chokes_on(
    tmp_path: Path, reader: str, trap: str
) -> None:
    text, place, problem = DECODER_TRAPS[trap]
    path = tmp_path / "f.json"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        JSON_READERS[reader](path)
    assert info.value.source == str(path), info.value
    assert info.value.place == place, info.value
    assert problem in info.value.problem
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a = " + "[" * 100_000, "nested too deeply"),
        ("a = 1" + "0" * 5000, "4300 digits"),
        ("[grid]\ntopology = 1\ntopology = 2\n", "not valid TOML"),
    ],
)
def test_the_toml_reader_refuses_what_the_decoder_chokes_on(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_spec(path)
    assert info.value.source == str(path)
    assert problem in info.value.problem


# ------------------------------------------------------------- wrong types of text fields


@pytest.mark.parametrize(
    ("edit", "place"),
    [
        (lambda d: d.update(name={"a": 1}), "name"),
        (lambda d: d["nodes"][0].update(name=["x"]), "nodes[0].name"),
        (lambda d: d["nodes"][0].update(name=3), "nodes[0].name"),
    ],
)
def test_text_fields_of_an_instance_refuse_other_types(
    tmp_path: Path, edit: Callable[[dict], None], place: str
) -> None:
    data = json.loads(json.dumps(INSTANCE))
    edit(data)
    path = tmp_path / "i.json"
    path.write_text(json.dumps(data))
    assert_refused(read_instance, path, place)


@pytest.mark.parametrize(
    ("key", "value", "place"),
    [("instance", ["x"], "instance"), ("planner", 5, "planner")],
)
def test_text_fields_of_a_plan_refuse_other_types(
    tmp_path: Path, key: str, value: Any, place: str
) -> None:
    data: dict[str, Any] = {
        "format": "qkdbench-plan/1",
        "instance": "i",
        "planner": "p",
        "requests": [],
    }
    data[key] = value
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    assert_refused(read_plan, path, place)
    data[key] = "ok"
    data["requests"] = [{"id": {"a": 1}, "path": [1, 2]}]
    path.write_text(json.dumps(data))
    assert_refused(read_plan, path, "requests[0].id")


# ------------------------------------------------------------- the command line: exit 2, one line


def cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qkdbench.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_line_error(res: subprocess.CompletedProcess, needle: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    assert needle in lines[0], lines[0]


def test_hostile_instance_files_exit_2_with_one_line(tmp_path: Path) -> None:
    place, keys = INSTANCE_FIELDS["costs.o.ch"]
    cases = {
        "cost.json": (with_literal(INSTANCE, keys, "1e308"), "costs.o.ch: must be at most 1e+15"),
        "big.json": (
            with_literal(INSTANCE, INSTANCE_FIELDS["links[].length_km"][1], "1" + "0" * 400),
            "links[0].length_km: number too large",
        ),
        "huge.json": ('{"a": ' + "9" * 5000 + "}", "4300 digits"),
        "deep.json": ("[" * 100_000, "nested too deeply"),
        "dup.json": (json.dumps(INSTANCE)[:-1] + ', "name": "x"}', "name: duplicate key"),
    }
    for name, (text, needle) in cases.items():
        (tmp_path / name).write_text(text)
        one_line_error(cli("plan", tmp_path / name, "-o", tmp_path / "p.json"), needle)
    assert not (tmp_path / "p.json").exists()


def test_hostile_command_line_numbers_exit_2_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "i.json"
    for args, needle in [
        (["--hop-cost", "1e308"], "--hop-cost: must be at most 1e+15"),
        (["--site", "nan"], "--site: must be finite"),
        (["--span-km", "inf"], "--span-km: must be finite"),
    ]:
        one_line_error(cli("instance", "--topology", "nsfnet", *args, "-o", out), needle)
    assert not out.exists()
