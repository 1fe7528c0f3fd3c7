"""Seeded samples of joint scenarios, the one sampler every module calls.

A *joint scenario* fixes every random quantity of an instance at once: one key
rate ``kappa_f`` per request (its demand) and one key-rate *state* per link
whose ``key_rate_kbps`` is a distribution. Requests are
independent of each other; link states are independent of each other and of
the demands; one state per link serves both of its arcs and every request that
uses the link (docs/model.md).

Examples
--------
>>> from qkdbench.model import Demand, Instance, Link, Request
>>> inst = Instance((1, 2, 3), (Link(1, 2, 100.0, key_rate_kbps=Demand((0.5, 1.0), (0.5, 0.5))),
...                             Link(2, 3, 100.0)),
...                 (Request("f0", 1, 3, Demand.uniform(2)),))
>>> sc = sample_joint_scenarios(inst, 4, seed=1)
>>> sc.demand.shape, sc.link_rate.shape, sc.random_links
((4, 1), (4, 2), (0,))
>>> bool((sc.link_rate[:, 1] == 1.0).all())  # link 2-3 keeps the instance's key rate
True
>>> len(enumerate_scenarios(inst)), round(float(enumerate_scenarios(inst).prob.sum()), 12)
(6, 1.0)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..exceptions import InputError
from ..model import Instance, Scenarios
from ..utils.random import Seed, check_random_state, derive_rng

__all__ = [
    "JointScenarios",
    "sample_joint_scenarios",
    "enumerate_scenarios",
    "sample_scenarios",
    "resample_listed",
    "random_links",
    "MAX_ENUMERATED",
]

#: Largest joint support :func:`enumerate_scenarios` lists by default.
MAX_ENUMERATED = 100_000


@dataclass(frozen=True, eq=False)
class JointScenarios:
    """``n`` joint scenarios of an instance: demands and link states.

    Attributes
    ----------
    demand : ndarray (n, F) float64
        Key rate ``kappa_f`` (kbps) of request ``f`` in scenario ``i``.
    link_state : ndarray (n, L) int64
        State of link ``l``: a position in ``links[l].key_rate_states(default)``
        (ascending rates); always 0 for a link with one state.
    link_rate : ndarray (n, L) float64
        The key rate (kbps) of link ``l`` in scenario ``i`` (the fixed rate of a
        link with one state).
    random_links : tuple of int
        Links with a random key rate (``Link.has_random_key_rate``).
    prob : ndarray (n,) float64, optional
        Probability of each scenario when the scenarios enumerate the joint
        distribution (:func:`enumerate_scenarios`); ``None`` for a sample, whose
        scenarios weigh ``1/n`` each.
    """

    demand: np.ndarray
    link_state: np.ndarray
    link_rate: np.ndarray
    random_links: tuple[int, ...]
    prob: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.demand.shape[0])

    @property
    def n(self) -> int:
        """Number of scenarios."""
        return len(self)

    @property
    def weights(self) -> np.ndarray:
        """Weight of each scenario: ``prob``, or ``1/n`` each for a sample."""
        if self.prob is not None:
            return self.prob
        return np.full(len(self), 1.0 / len(self))

    def scenario(self, i: int) -> JointScenarios:
        """Scenario ``i`` alone (``prob`` dropped).

        Parameters
        ----------
        i : int
            Scenario position; negative counts from the end.

        Returns
        -------
        JointScenarios
            One scenario.
        """
        i = range(len(self))[i]
        sl = slice(i, i + 1)
        return JointScenarios(
            self.demand[sl], self.link_state[sl], self.link_rate[sl], self.random_links
        )


def random_links(instance: Instance) -> tuple[int, ...]:
    """Positions of the links of ``instance`` with a random key rate.

    Parameters
    ----------
    instance : Instance
        The instance whose links are read.

    Returns
    -------
    tuple of int
        Ascending link positions.
    """
    return tuple(k for k, link in enumerate(instance.links) if link.has_random_key_rate)


def _link_states(instance: Instance) -> list[tuple[np.ndarray, np.ndarray]]:
    default = instance.params.key_rate_kbps
    out = []
    for link in instance.links:
        rates, probs = link.key_rate_states(default)
        out.append((np.asarray(rates, float), np.asarray(probs, float)))
    return out


def sample_joint_scenarios(
    instance: Instance, n_scenarios: int, seed: Seed | Sequence[int]
) -> JointScenarios:
    """A seeded sample of ``n_scenarios`` joint scenarios (demands and link states).

    One generator seeded with ``seed``
    (:func:`~qkdbench.utils.random.check_random_state`) draws, in this order,
    each request's column of key rates (requests in instance order,
    :meth:`~qkdbench.model.Demand.sample`), then each random link's column of
    states (links in instance order). The demand columns are
    therefore those of :func:`sample_scenarios` with the same seed.

    Parameters
    ----------
    instance : Instance
    n_scenarios : int
        At least 1.
    seed : None, int, SeedSequence, Generator or sequence of int
        A seed of :func:`~qkdbench.utils.random.check_random_state` (``None``
        means seed 0), or ``(s, *keys)`` for the derived stream
        :func:`~qkdbench.utils.random.derive_rng` ``(s, *keys)`` (e.g. ``[7, 1]``
        for a second stream, ``numpy.random.default_rng([7, 1])``). Same seed,
        same scenarios.

    Returns
    -------
    JointScenarios

    Raises
    ------
    InputError
        If ``n_scenarios < 1`` or ``seed`` is not a seed (an
        :class:`~qkdbench.exceptions.InputError` is a ``ValueError``).
    """
    if n_scenarios < 1:
        raise InputError(f"need at least one scenario, got {n_scenarios}")
    rng = derive_rng(*seed) if isinstance(seed, Sequence) else check_random_state(seed)
    demand = np.empty((n_scenarios, instance.n_requests))
    for f, req in enumerate(instance.requests):
        demand[:, f] = req.demand.sample(rng, n_scenarios)
    states = _link_states(instance)
    rnd = random_links(instance)
    link_state = np.zeros((n_scenarios, len(instance.links)), dtype=np.int64)
    for k in rnd:
        rates, probs = states[k]
        link_state[:, k] = rng.choice(rates.size, size=n_scenarios, p=probs)
    return JointScenarios(demand, link_state, _rates(states, link_state), rnd)


def _rates(states: list[tuple[np.ndarray, np.ndarray]], link_state: np.ndarray) -> np.ndarray:
    out = np.empty(link_state.shape)
    for k, (rates, _) in enumerate(states):
        out[:, k] = rates[link_state[:, k]]
    return out


def enumerate_scenarios(instance: Instance, max_scenarios: int = MAX_ENUMERATED) -> JointScenarios:
    """Every joint scenario of ``instance`` with its probability (the exact distribution).

    The product of every request's demand support and every random link's
    states, in lexicographic order (requests first, then links); ``prob`` is
    the product of the marginal probabilities.

    Parameters
    ----------
    instance : Instance
        The instance whose distribution is listed.
    max_scenarios : int, optional
        Largest number of scenarios to list (default :data:`MAX_ENUMERATED`).

    Returns
    -------
    JointScenarios
        With ``prob``, summing to 1.

    Raises
    ------
    InputError
        If the product has more than ``max_scenarios`` scenarios.
    """
    states = _link_states(instance)
    rnd = random_links(instance)
    axes = [np.asarray(r.demand.values, float) for r in instance.requests]
    axes_p = [np.asarray(r.demand.probs, float) for r in instance.requests]
    axes += [np.arange(states[k][0].size, dtype=float) for k in rnd]
    axes_p += [states[k][1] for k in rnd]
    size = math.prod(a.size for a in axes)
    if size > max_scenarios:
        raise InputError(
            f"the joint distribution of {instance.name!r} has {size:,} scenarios, "
            f"more than {max_scenarios:,}"
        )
    combos = np.asarray(list(itertools.product(*axes)), float).reshape(size, len(axes))
    probs = np.asarray(list(itertools.product(*axes_p)), float).reshape(size, len(axes))
    F = instance.n_requests
    link_state = np.zeros((size, len(instance.links)), dtype=np.int64)
    for j, k in enumerate(rnd):
        link_state[:, k] = combos[:, F + j].astype(np.int64)
    prob = probs.prod(axis=1) if axes else np.ones(1)
    return JointScenarios(combos[:, :F].copy(), link_state, _rates(states, link_state), rnd, prob)


def sample_scenarios(
    instance: Instance, n_scenarios: int, seed: Seed | Sequence[int]
) -> np.ndarray:
    """The demands of a seeded joint sample: key rates (kbps), shape ``(n, F)``.

    ``sample_joint_scenarios(instance, n_scenarios, seed).demand``: requests are
    independent; column ``f`` is drawn from request ``f``'s demand. Link states
    are left out; use :func:`sample_joint_scenarios` when the instance has
    links with random key rates and the scenarios must carry them.

    Parameters
    ----------
    instance : Instance
        The instance whose demands are sampled.
    n_scenarios : int
        At least 1.
    seed : None, int, SeedSequence, Generator or sequence of int
        As :func:`sample_joint_scenarios`.

    Returns
    -------
    ndarray of float64, shape (n_scenarios, F)

    Raises
    ------
    ValueError
        If ``n_scenarios < 1`` or ``seed`` is not a seed.
    """
    return sample_joint_scenarios(instance, n_scenarios, seed).demand


def resample_listed(
    instance: Instance, n_scenarios: int, seed: Seed, *, merge: bool = False
) -> Instance:
    """The instance with ``n_scenarios`` draws of its listed joint scenarios (with replacement).

    Each draw picks one of ``instance.scenarios`` by its probability; the sample's
    scenarios are the draws, each of probability ``1 / n_scenarios`` (with ``merge``,
    equal draws are one scenario of probability ``count / n_scenarios``, in listed
    order: the same sample-average costs, a smaller program). Requests' demands and
    random links' key rates become the sample's marginals, as an instance with
    scenarios keeps them; everything else is kept.

    Parameters
    ----------
    instance : Instance
        An instance with joint scenarios.
    n_scenarios : int
        Draws (at least 1).
    seed : None, int, SeedSequence or Generator
        One ``Generator.choice`` call draws the sample.
    merge : bool
        Merge equal draws.

    Returns
    -------
    Instance
        The recipe of its scenarios adds ``sampled`` (the draws) and, for an integer
        seed, ``sample_seed``.

    Raises
    ------
    InputError
        For an instance without scenarios, ``n_scenarios < 1`` or a bad seed.

    Examples
    --------
    >>> from qkdbench.testing.instances import feature_instance
    >>> inst = feature_instance("coupled")
    >>> resample_listed(inst, 8, seed=1).scenarios.n
    8
    >>> sum(resample_listed(inst, 8, seed=1, merge=True).scenarios.probs)
    1.0
    """
    sc = instance.scenarios
    if sc is None:
        raise InputError(f"instance {instance.name!r} lists no joint scenarios")
    if n_scenarios < 1:
        raise InputError(f"n_scenarios must be at least 1, got {n_scenarios}")
    rng = check_random_state(seed)
    pick = rng.choice(sc.n, size=n_scenarios, p=np.asarray(sc.probs) / math.fsum(sc.probs))
    if merge:
        rows, counts = np.unique(pick, return_counts=True)
        take = rows.tolist()
        probs = tuple(float(c) / n_scenarios for c in counts)
    else:
        take = pick.tolist()
        probs = (1.0 / n_scenarios,) * n_scenarios
    new = Scenarios(
        probs,
        {rid: tuple(col[i] for i in take) for rid, col in sc.key_rates.items()},
        {k: tuple(col[i] for i in take) for k, col in sc.link_key_rates.items()},
        {**sc.recipe, "sampled": n_scenarios, **_seed_note(seed)},
    )
    reqs = tuple(replace(r, demand=new.marginal(r.id)) for r in instance.requests)
    links = tuple(
        replace(link, key_rate_kbps=new.link_marginal(k)) if k in new.link_key_rates else link
        for k, link in enumerate(instance.links)
    )
    return replace(instance, links=links, requests=reqs, scenarios=new)


def _seed_note(seed: Seed) -> dict[str, int]:
    """``{"sample_seed": seed}`` for an integer seed, else nothing."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return {"sample_seed": int(seed)}
    return {}
