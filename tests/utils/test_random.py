"""The seed helpers: the same seed gives the same stream, bad seeds are refused.

The streams are checked against numpy itself (``default_rng`` and
``SeedSequence.spawn``), and the planners and generators that route their seeds
through the helpers against the streams they drew before.
"""

from __future__ import annotations

import random
import re
from typing import Any

import numpy as np
import pytest

from qkdbench.exceptions import InputError
from qkdbench.heuristics.saa_greedy import SAAGreedy, sampled_instance
from qkdbench.topologies import make_instance
from qkdbench.topologies.ntn import add_providers
from qkdbench.utils.random import check_random_state, check_seed, derive_rng


def _draw(rng: np.random.Generator) -> list[int]:
    return rng.integers(0, 2**31, size=8).tolist()


def _stable_id(value: object) -> str:
    """A test id without memory addresses (the same in every process, for pytest-xdist)."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


@pytest.mark.parametrize("seed", [0, 1, 7, 2**40, np.int64(5), np.uint8(3)])
def test_an_integer_seed_is_numpys_default_stream(seed: int | np.integer) -> None:
    assert _draw(check_random_state(seed)) == _draw(np.random.default_rng(int(seed)))


def test_same_seed_same_stream_and_different_seeds_differ() -> None:
    assert _draw(check_random_state(11)) == _draw(check_random_state(11))
    assert _draw(check_random_state(11)) != _draw(check_random_state(12))


def test_none_means_seed_zero() -> None:
    assert _draw(check_random_state(None)) == _draw(np.random.default_rng(0))
    assert check_seed(None) == 0


def test_a_seed_sequence_seeds_a_new_generator() -> None:
    ss = np.random.SeedSequence(1234)
    assert _draw(check_random_state(ss)) == _draw(
        np.random.default_rng(np.random.SeedSequence(1234))
    )


def test_a_generator_is_returned_as_is() -> None:
    rng = np.random.default_rng(3)
    assert check_random_state(rng) is rng
    first = _draw(check_random_state(rng))
    assert first != _draw(rng)  # shared, so the second draw moves on


@pytest.mark.parametrize(
    "bad",
    [-1, 1.0, 1.5, True, "3", [1, 2], (1,), object(), np.random.RandomState(0), np.float64(2)],
    ids=_stable_id,
)
def test_bad_seeds_are_refused_with_one_line(bad: Any) -> None:  # ill-typed on purpose
    with pytest.raises(InputError) as info:
        check_random_state(bad)
    text = str(info.value)
    assert text.startswith("seed: ")
    assert "\n" not in text
    assert isinstance(info.value, ValueError)


def test_the_place_names_where_the_seed_came_from() -> None:
    with pytest.raises(InputError, match=r"^planner_seed: must be >= 0, got -4$"):
        check_random_state(-4, place="planner_seed")


@pytest.mark.parametrize("bad", [-1, 2.0, False, "0", None])
def test_check_seed_refuses_what_is_not_an_integer_at_least_zero(
    bad: Any,  # ill-typed on purpose
) -> None:
    if bad is None:
        assert check_seed(bad) == 0
        return
    with pytest.raises(InputError):
        check_seed(bad)


def test_check_seed_refuses_a_generator() -> None:
    with pytest.raises(InputError, match="expected None or an integer >= 0"):
        check_seed(np.random.default_rng(0))  # type: ignore[arg-type]


@pytest.mark.parametrize(("seed", "keys"), [(0, (1,)), (7, (2,)), (7, (2, 5)), (None, (3,))])
def test_a_derived_stream_is_the_list_seed_stream(seed: int | None, keys: tuple[int, ...]) -> None:
    expected = np.random.default_rng([0 if seed is None else seed, *keys])
    assert _draw(derive_rng(seed, *keys)) == _draw(expected)


def test_derived_streams_differ_by_key_and_repeat_by_key() -> None:
    a, b = _draw(derive_rng(7, 1)), _draw(derive_rng(7, 2))
    assert a != b
    assert a == _draw(derive_rng(7, 1))
    assert _draw(derive_rng(7)) == _draw(check_random_state(7))


def test_a_derived_stream_of_a_seed_sequence_is_its_spawned_child() -> None:
    ss = np.random.SeedSequence(99)
    child = np.random.SeedSequence(99).spawn(3)[2]
    assert _draw(derive_rng(ss, 2)) == _draw(np.random.default_rng(child))


@pytest.mark.parametrize(
    ("seed", "keys"),
    [(np.random.default_rng(0), (1,)), (1.5, (1,)), (-2, (1,)), (3, (-1,)), (3, (1.0,))],
    ids=_stable_id,
)
def test_derive_rng_refuses_bad_seeds_and_keys(
    seed: Any,
    keys: tuple[Any, ...],  # ill-typed on purpose
) -> None:
    with pytest.raises(InputError):
        derive_rng(seed, *keys)


# ---------------------------------------------------------------- the routed sites


def test_sampled_requests_keep_their_stream() -> None:
    inst = make_instance("nsfnet", 6, 3, seed=4)
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(inst.nodes)
    g.add_edges_from((link.u, link.v) for link in inst.links)
    order = {n: i for i, n in enumerate(inst.nodes)}
    pairs = sorted(
        ((s, t) for comp in nx.connected_components(g) for s in comp for t in comp if s != t),
        key=lambda st: (order[st[0]], order[st[1]]),
    )
    chosen = np.random.default_rng(4).choice(len(pairs), size=6, replace=False)
    assert [(r.source, r.target) for r in inst.requests] == [pairs[k] for k in chosen]


def test_provider_steps_keep_their_list_seed_streams() -> None:
    base = make_instance("nsfnet", 4, 2, seed=1)
    inst = add_providers(base, seed=3, providers=2, sites=2, anycast=1.0, service_spread=0.5)
    nodes = list(base.nodes)
    rng = np.random.default_rng([3, 1])  # the site step's stream
    sites = {
        pid: [nodes[i] for i in sorted(rng.choice(len(nodes), 2, replace=False).tolist())]
        for pid in "AB"
    }
    rng = np.random.default_rng([3, 2])  # the service-cost step's stream
    price = {
        (pid, v): float(round(100000.0 * (1.0 + 0.5 * rng.uniform(-1.0, 1.0))))
        for pid in "AB"
        for v in sites[pid]
    }
    for req, old in zip(inst.requests, base.requests, strict=True):
        expected = [
            (v, pid, price[(pid, v)]) for pid in "AB" for v in sites[pid] if v != old.source
        ]
        assert [(t.node, t.provider, t.service_cost) for t in req.targets] == expected


def test_sample_average_greedy_seed_none_is_seed_zero() -> None:
    inst = make_instance("nsfnet", 5, 3, seed=2)
    planner = SAAGreedy(n_scenarios=6)
    assert planner.plan(inst, seed=None).routes == planner.plan(inst, seed=0).routes
    assert sampled_instance(inst, 6, seed=0) == sampled_instance(inst, 6, seed=check_seed(None))


def test_python_random_of_the_ga_is_seeded_with_the_integer() -> None:
    assert random.Random(check_seed(None)).random() == random.Random(0).random()
    assert random.Random(check_seed(np.int32(9))).random() == random.Random(9).random()
