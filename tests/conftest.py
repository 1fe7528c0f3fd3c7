"""Shared fixtures: small hand-made instances."""

from __future__ import annotations

import pytest

from qkdbench.model import Demand, Instance, Link, Params, Request


@pytest.fixture
def two_node() -> Instance:
    """One 200 km link (m = 2 segments), one request with P in {0, 1, 2}."""
    return Instance(
        nodes=(1, 2),
        links=(Link(1, 2, 200.0),),
        requests=(Request("f0", 1, 2, Demand((0.0, 1.0, 2.0), (0.2, 0.5, 0.3))),),
        name="two-node",
    )


@pytest.fixture
def triangle() -> Instance:
    """A triangle with a short detour, hop cost 10 and small capacities."""
    return Instance(
        nodes=("a", "b", "c"),
        links=(Link("a", "b", 100.0), Link("b", "c", 100.0), Link("a", "c", 250.0, W_qkd=4)),
        requests=(
            Request("f0", "a", "c", Demand.uniform(2)),
            Request("f1", "c", "b", Demand((0.5, 3.0), (0.75, 0.25))),
        ),
        params=Params(hop_cost=10.0, W_qkd=6, W_kml=2),
        name="triangle",
    )
