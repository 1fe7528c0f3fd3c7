"""Families of instances the learned planners train and are evaluated on.

A family is a recipe (:mod:`qkdbench.planning.recipes`) without its request seed:
a topology, a number of requests, ``K`` and any generator knobs (design knobs such
as ``site`` and ``tightness``, the TN-NTN generator's ground stations, weather,
providers and fixed charges). Request seed ``s`` gives one instance; training uses
the seeds from :data:`~qkdbench.rl.core.TRAIN_SEED_BASE`, held-out evaluation
``1, 2, ...``, so a family with the recipe of a library instance (seed 1) holds
that very instance among its held-out ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import InputError
from ..model import Instance
from ..planning.recipes import RECIPE_KEYS, SCENARIO_KEYS, instance_from_recipe
from ..topologies import make_instance

__all__ = ["Family"]


@dataclass(frozen=True)
class Family:
    """A family of instances: a topology with seeded random requests and generator knobs.

    Parameters
    ----------
    topology : str
        Built-in name, file or topohub key (``-ntn`` names a TN-NTN family).
    requests : int
    max_rate : int
        ``K``: key rates uniform on ``{0..K}``.
    knobs : mapping, optional
        Further recipe keys (:func:`~qkdbench.planning.recipes.instance_from_recipe`),
        e.g. ``{"ground_stations": 6, "station_cost": 1000000, "site": 100000}``; none
        of ``topology``, ``requests``, ``max_rate``, ``seed`` or the coupled second
        stage's keys (the environments do not pose it).

    Examples
    --------
    >>> Family("nsfnet", 4, 3).instances([1])[0].name
    'nsfnet-r4-k3-s1'
    >>> Family("nsfnet", 4, 3, {"fixed_charge_factor": 10.0}).instances([2])[0].name
    'nsfnet-r4-k3-s2-fc10'
    """

    topology: str = "usnet"
    requests: int = 60
    max_rate: int = 10
    knobs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Family:
        """The family an agent file's ``family`` entry describes.

        Parameters
        ----------
        meta : mapping
            ``topology``, ``requests``, ``max_rate`` and (agents trained since the
            knobs exist) ``knobs``.

        Returns
        -------
        Family
        """
        return cls(
            str(meta.get("topology", "usnet")),
            int(meta.get("requests", 60)),
            int(meta.get("max_rate", 10)),
            dict(meta.get("knobs") or {}),
        )

    def check(self, source: str = "--knobs") -> None:
        """Refuse knobs that are not generator knobs of a family (one line).

        Parameters
        ----------
        source : str
            Named in the message.

        Raises
        ------
        InputError
            For knobs that are not a mapping, or that give a recipe's own keys or the
            coupled second stage's.
        """
        if not isinstance(self.knobs, Mapping):
            raise InputError("the knobs must be an object of recipe keys", "", source)
        own = sorted(set(self.knobs) & set(RECIPE_KEYS + SCENARIO_KEYS))
        if own:
            raise InputError(
                f"{own[0]!r} is not a family knob (topology, requests and K have their "
                "own options, the seeds are the training and held-out ones, and the "
                "environments do not pose a coupled second stage)",
                "",
                source,
            )

    def instances(self, seeds: Sequence[int]) -> list[Instance]:
        """One instance per request seed.

        Parameters
        ----------
        seeds : sequence of int
            Request seeds.

        Returns
        -------
        list of Instance
            Named as the library names its recipes: ``{topology}-r{requests}-k{max_rate}-s{seed}``
            and one part per knob.

        Raises
        ------
        InputError
            For bad knobs (:meth:`check`, and the generator's own checks).
        """
        if not self.knobs:
            return [
                make_instance(self.topology, self.requests, self.max_rate, seed=int(s))
                for s in seeds
            ]
        self.check()
        head = {"topology": self.topology, "requests": self.requests, "max_rate": self.max_rate}
        return [
            instance_from_recipe({**head, "seed": int(s), **self.knobs}, "--knobs") for s in seeds
        ]
