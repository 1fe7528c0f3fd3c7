"""Planners that only the experiment tests use; importing this module registers them.

It is a module (not only a fixture) so that Dask worker processes and a sweep run
as a subprocess can import it by name too: the sweep option
``modules = ["tests.experiments.faulty_planners"]``. Tests never import it; they
ask for the ``faulty_planners`` fixture of ``tests/experiments/conftest.py``.

``test-fail``
    Always raises ``RuntimeError("deliberate failure")``.
``test-block``
    CO-QBN's plan; but while the environment variable ``QKDBENCH_TEST_BLOCK``
    is set, a run with ``seed >= 3`` blocks (sleeps) until the process is killed.
"""

from __future__ import annotations

import os
import time

from qkdbench.heuristics import available_planners, get_planner
from qkdbench.model import Instance, Plan
from qkdbench.utils.registry import register_planner, unregister_planner

__all__ = ["FailingPlanner", "BlockingPlanner", "NAMES", "register", "unregister"]


class FailingPlanner:
    """Raises on every call (a planner bug, as the sweep sees it)."""

    name = "test-fail"

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        raise RuntimeError("deliberate failure")


class BlockingPlanner:
    """CO-QBN, except that it blocks on seed >= 3 while QKDBENCH_TEST_BLOCK is set."""

    name = "test-block"

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        if os.environ.get("QKDBENCH_TEST_BLOCK") and (seed or 0) >= 3:
            while True:  # until killed
                time.sleep(0.5)
        return get_planner("coqbn").plan(instance, seed=seed, time_limit=time_limit)


NAMES = (FailingPlanner.name, BlockingPlanner.name)


def register() -> None:
    """Register both planners (idempotent)."""
    for cls in (FailingPlanner, BlockingPlanner):
        if cls.name not in available_planners():
            register_planner(cls.name, origin="tests")(cls)


def unregister() -> None:
    """Remove both planners from the registry (so other tests never see them)."""
    for name in NAMES:
        unregister_planner(name)


register()
