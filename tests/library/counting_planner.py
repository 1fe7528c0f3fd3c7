"""A planner that logs every call, for the bench's warm-up tests; importing it registers it.

A module (not a fixture) so that a bench run as a subprocess, and its Dask
workers, import it by name: ``--modules tests.library.counting_planner``.

``test-count``
    CO-QBN's plan; every call appends ``pid, instance name, requests, seed`` to
    the file named by the environment variable ``QKDBENCH_TEST_CALLS`` (if set).
    Stochastic as far as the bench knows (it declares nothing).
"""

from __future__ import annotations

import os
from pathlib import Path

from qkdbench.heuristics import available_planners, get_planner
from qkdbench.model import Instance, Plan
from qkdbench.utils.registry import register_planner

__all__ = ["CountingPlanner"]


class CountingPlanner:
    """CO-QBN, logging each call."""

    name = "test-count"

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        path = os.environ.get("QKDBENCH_TEST_CALLS")
        if path:
            with Path(path).open("a", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()},{instance.name},{instance.n_requests},{seed}\n")
        return get_planner("coqbn").plan(instance, seed=seed, time_limit=time_limit)


if CountingPlanner.name not in available_planners():
    register_planner(CountingPlanner.name, origin="tests")(CountingPlanner)
