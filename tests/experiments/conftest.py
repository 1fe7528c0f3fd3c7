"""Fixtures of the experiment tests: planners that fail or block on purpose."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest


@pytest.fixture
def faulty_planners() -> Iterator[ModuleType]:
    """Register ``test-fail`` and ``test-block`` for one test, then remove them.

    The module is imported here, not at the top: importing it registers both
    planners, and no other test may see them. It yields the module; a sweep
    names it (``tests.experiments.faulty_planners``) in ``options.modules`` so
    that Dask workers and a sweep run as a subprocess register them too.
    """
    from tests.experiments import faulty_planners as mod

    mod.register()
    yield mod
    mod.unregister()
