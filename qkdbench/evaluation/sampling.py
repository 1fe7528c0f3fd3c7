"""Seeded samples of joint key-rate scenarios, the one sampler every module calls."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..model import Instance

__all__ = ["sample_scenarios"]


def sample_scenarios(instance: Instance, n_scenarios: int,
                     seed: int | Sequence[int]) -> np.ndarray:
    """A seeded sample of joint scenarios: key rates (kbps), shape ``(n, F)``.

    Requests are independent; column ``f`` is drawn from request ``f``'s demand.
    ``seed`` is anything :func:`numpy.random.default_rng` takes (e.g. ``[7, 1]``
    for a second stream).
    """
    if n_scenarios < 1:
        raise ValueError(f"need at least one scenario, got {n_scenarios}")
    rng = np.random.default_rng(seed)
    out = np.empty((n_scenarios, instance.n_requests))
    for f, req in enumerate(instance.requests):
        out[:, f] = req.demand.sample(rng, n_scenarios)
    return out
