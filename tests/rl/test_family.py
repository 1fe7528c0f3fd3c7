"""Families of instances with generator knobs (:class:`qkdbench.rl.family.Family`)."""

from __future__ import annotations

from typing import Any

import pytest

from qkdbench.evaluation import evaluate
from qkdbench.exceptions import InputError
from qkdbench.experiments.provenance import instance_hash
from qkdbench.heuristics import get_planner
from qkdbench.library.sets import load_set
from qkdbench.planning.recipes import instance_from_recipe
from qkdbench.rl.agents import Agent
from qkdbench.rl.family import Family
from qkdbench.rl.heldout import held_out
from qkdbench.topologies import make_instance

HEAD = ("topology", "requests", "max_rate", "seed")


def _knobbed_entry() -> Any:
    """The library's fixed-charge TN-NTN instance on NSFNET with 40 requests."""
    return next(e for e in load_set("ntn").instances if e.name.startswith("nsfnet-ntn-r40-k10-s1-"))


def test_a_family_without_knobs_is_the_plain_generator() -> None:
    fam = Family("nsfnet", 5, 3)
    for got, seed in zip(fam.instances([1, 7]), (1, 7), strict=True):
        want = make_instance("nsfnet", 5, 3, seed=seed)
        assert got.name == want.name
        assert instance_hash(got) == instance_hash(want)


def test_seed_one_of_a_library_recipe_is_the_library_instance() -> None:
    entry = _knobbed_entry()
    knobs = {k: v for k, v in entry.recipe.items() if k not in HEAD}
    assert knobs  # a recipe with generator knobs: fixed charges, ground stations, weather
    recipe = entry.recipe
    fam = Family(recipe["topology"], recipe["requests"], recipe["max_rate"], knobs)
    first, second = fam.instances([1, 2])
    assert first.name == entry.name
    assert instance_hash(first) == entry.hash  # the content the library pins
    assert instance_hash(second) == instance_hash(instance_from_recipe({**entry.recipe, "seed": 2}))
    assert instance_hash(second) != entry.hash
    # the knobs reach the instance: a plan costs its fixed charges
    plan = get_planner("coqbn").plan(first)
    plain = make_instance("nsfnet-ntn", 40, 10, seed=1)
    assert evaluate(first, plan).total > evaluate(plain, get_planner("coqbn").plan(plain)).total


@pytest.mark.parametrize("key", ["topology", "requests", "max_rate", "seed", "scenarios"])
def test_a_recipe_or_second_stage_key_is_not_a_knob(key: str) -> None:
    fam = Family("nsfnet", 4, 3, {key: 2})
    with pytest.raises(InputError, match=f"'{key}' is not a family knob"):
        fam.instances([1])


def test_the_knobs_are_read_back_from_an_agent_file_entry() -> None:
    knobs = {"fixed_charge_factor": 10.0}
    meta = {"topology": "nsfnet", "requests": 4, "max_rate": 3, "knobs": knobs}
    fam = Family.from_meta(meta)
    assert fam == Family("nsfnet", 4, 3, knobs)
    # an agent file from before the knobs existed: the plain family
    assert Family.from_meta({"topology": "nsfnet", "requests": 4, "max_rate": 3}).knobs == {}
    agent = Agent(None, {}, {"family": meta, "train_seeds": [100_000, 100_001]})
    got = held_out(agent, [1, 2])
    want = [instance_from_recipe({"topology": "nsfnet", "requests": 4, "max_rate": 3,
                                  "seed": s, **knobs}) for s in (1, 2)]  # fmt: skip
    assert [instance_hash(i) for i in got] == [instance_hash(i) for i in want]
    assert got[0].name == "nsfnet-r4-k3-s1-fc10"
    with pytest.raises(InputError, match="training seeds"):
        held_out(agent, [100_001])
