"""The instance library's sets: recipes, the one function that builds an instance from one,
and the set files (package data) that pin each instance by its content hash.

Recipes (the recipe keys, :func:`instance_from_recipe` and :func:`recipe_name`) live
in :mod:`qkdbench.library.recipes` and are importable from here.

The set table :data:`SET_TABLE` lists every set's recipes; the shipped set file
``data/SET.set.json`` holds each instance's name, recipe and content hash
(:func:`~qkdbench.experiments.provenance.instance_hash`). :func:`load_instance`
rebuilds an instance from its recipe and checks the hash, so a changed generator
(or an edited set file) is found at once.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import InputError
from ..experiments.provenance import instance_hash
from ..model import Instance
from .recipes import (
    DESIGN_KEYS,
    NTN_KEYS,
    PARAM_KEYS,
    RECIPE_KEYS,
    instance_from_recipe,
    recipe_name,
)

__all__ = [
    "SET_FORMAT",
    "RECIPE_KEYS",
    "PARAM_KEYS",
    "DESIGN_KEYS",
    "DESIGN_KNOBS",
    "NTN_KEYS",
    "SET_TABLE",
    "PENDING_SETS",
    "LibraryInstance",
    "LibrarySet",
    "instance_from_recipe",
    "recipe_name",
    "set_names",
    "set_file",
    "read_set",
    "load_set",
    "load_instance",
    "build_set_file",
]

#: Format tag of a set file.
SET_FORMAT = "qkdbench-set/1"
#: The knob settings that separate the planners (``benchmarks/bench_design.py``).
DESIGN_KNOBS: dict[str, Any] = {
    "demand": "heavy",
    "hotspots": 3,
    "fixed_charge_factor": 10.0,
    "tightness": 0.5,
}

DATA = "data"


def _grid(**axes: Any) -> list[dict[str, Any]]:
    keys = list(axes)
    values = [v if isinstance(v, (list, tuple)) else [v] for v in axes.values()]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]


#: The fixed-charge TN-NTN instances of the ``ntn`` set: 6 ground stations, 5 satellite
#: and 3 free-space links, cloud 0.01 and haze 0.1 (so the non-terrestrial links pay off),
#: stations 1,000,000, satellite links 500,000, free-space links 200,000 unless a recipe
#: says otherwise (:data:`~qkdbench.topologies.ntn.REFERENCE_FIXED_CHARGES`; the module
#: notes explain the magnitudes), plus relay sites and tightness per recipe.
_NTN_FC: dict[str, Any] = {
    "ground_stations": 6,
    "satellite_links": 5,
    "free_space_links": 3,
    "cloud": 0.01,
    "haze": 0.1,
    "station_cost": 1000000,
    "satellite_fixed_cost": 500000,
    "free_space_fixed_cost": 200000,
}


def _ntn_fc(recipe: dict[str, Any]) -> dict[str, Any]:
    """A fixed-charge TN-NTN recipe: ``recipe`` over :data:`_NTN_FC`, K = 10."""
    head = {k: recipe[k] for k in ("topology", "requests")}
    rest = {k: v for k, v in recipe.items() if k not in head and k != "seed"}
    return {**head, "max_rate": 10, "seed": recipe["seed"], **_NTN_FC, **rest}


def _capacity() -> list[dict[str, Any]]:
    out = []
    for topology, requests in (("usnet", 40), ("nsfnet", 30)):
        for w_qkd, w_kml in ((45, 15), (60, 20)):
            out += _grid(
                topology=topology,
                requests=requests,
                max_rate=10,
                seed=[1, 2],
                W_qkd=w_qkd,
                W_kml=w_kml,
            )
    return out


#: The ``coupled`` set's second stage: joint scenarios (Gaussian copula) and on-demand caps
#: relative to the expected on-demand load, K = 10; small instances an exact solver of
#: the coupled model can prove (two with reservation capacities that bind, so that
#: reserving every request's largest need is not an option), and two of USNET's 40
#: requests over 50 scenarios.
_COUPLED: list[dict[str, Any]] = [
    {"topology": "nsfnet", "requests": 5, "max_rate": 10, "seed": 1,
     "scenarios": 10, "correlation": 0.5, "on_demand_cap": 1.0},
    {"topology": "nsfnet", "requests": 10, "max_rate": 10, "seed": 1, "tightness": 0.7,
     "scenarios": 20, "correlation": 0.9, "on_demand_cap": 0.5},
    {"topology": "nsfnet", "requests": 10, "max_rate": 10, "seed": 2,
     "scenarios": 20, "correlation": 0.7, "on_demand_cap": 1.0, "shortfall_factor": 2.0},
    {"topology": "usnet", "requests": 15, "max_rate": 10, "seed": 1, "tightness": 0.7,
     "scenarios": 30, "correlation": 0.9, "on_demand_cap": 1.0, "shortfall_factor": 3.0},
    {"topology": "usnet", "requests": 40, "max_rate": 10, "seed": 1,
     "scenarios": 50, "correlation": 0.7, "on_demand_cap": 0.8},
    {"topology": "usnet", "requests": 40, "max_rate": 10, "seed": 2,
     "scenarios": 50, "correlation": 0.9, "on_demand_cap": 0.5, "shortfall_factor": 2.0},
]  # fmt: skip

#: Every shipped set: a description and its recipes (the set files are built from these).
SET_TABLE: dict[str, dict[str, Any]] = {
    "paper": {
        "description": "the paper's setting: USNET, 10-60 requests, K = 10 (Table I), seeds 1-3",
        "recipes": _grid(
            topology="usnet", requests=[10, 20, 30, 40, 50, 60], max_rate=10, seed=[1, 2, 3]
        ),
    },
    "capacity": {
        "description": "tight reservation capacities (W_qkd 45-60, W_kml 15-20) on USNET "
        "and NSFNET",
        "recipes": _capacity(),
    },
    "design": {
        "description": "fixed charges (factor 10), tightness 0.5, 3 hot spots, heavy-tailed "
        "demand, K = 10 on USNET, NSFNET, COST239 (10-60 requests) and "
        "germany50 (10-30 requests), seed 1: the family that separates planners",
        "recipes": [
            dict(r, **DESIGN_KNOBS)
            for r in _grid(
                topology=["usnet", "nsfnet", "cost239"], requests=[10, 30, 60], max_rate=10, seed=1
            )
            + _grid(topology="sndlib/germany50", requests=[10, 30], max_rate=10, seed=1)
        ],
    },
    "ntn": {
        "description": "TN-NTN: USNET, NSFNET and germany50 with 4 ground stations, "
        "2 satellite and 1 free-space link in weather states, 2 providers "
        "with 3 sites each, half the requests anycast, K = 10, 10-30 requests; "
        "weather clear 0.89, haze 0.1, cloud 0.01 (site diversity; "
        "satellite links pay off across USNET), two with binding provider "
        "capacity, one at a single-station site's cloud 0.2, haze 0.2 "
        "(they do not); and six with fixed charges "
        "(ground stations, satellite and free-space links, relay sites; "
        "6 stations, 5 satellite and 3 free-space links, cloud 0.01, haze "
        "0.1, 40-60 requests, three with tight capacities) that separate "
        "the planners",
        "recipes": [
            {"topology": "usnet-ntn", "requests": 20, "max_rate": 10, "seed": 1},
            {"topology": "usnet-ntn", "requests": 20, "max_rate": 10, "seed": 2},
            {"topology": "usnet-ntn", "requests": 30, "max_rate": 10, "seed": 1},
            {
                "topology": "usnet-ntn",
                "requests": 20,
                "max_rate": 10,
                "seed": 1,
                "provider_capacity": 5,
            },
            {
                "topology": "usnet-ntn",
                "requests": 20,
                "max_rate": 10,
                "seed": 1,
                "cloud": 0.2,
                "haze": 0.2,
            },
            {"topology": "nsfnet-ntn", "requests": 10, "max_rate": 10, "seed": 1},
            {
                "topology": "nsfnet-ntn",
                "requests": 20,
                "max_rate": 10,
                "seed": 2,
                "anycast": 1.0,
                "provider_capacity": 10,
            },
            {"topology": "sndlib/germany50-ntn", "requests": 30, "max_rate": 10, "seed": 1},
        ]
        + [
            _ntn_fc(r)
            for r in (
                {
                    "topology": "usnet-ntn",
                    "requests": 40,
                    "seed": 1,
                    "site": 100000,
                    "station_cost": 500000,
                    "satellite_fixed_cost": 250000,
                    "free_space_fixed_cost": 100000,
                },
                {"topology": "nsfnet-ntn", "requests": 40, "seed": 1, "site": 100000},
                {
                    "topology": "sndlib/germany50-ntn",
                    "requests": 40,
                    "seed": 1,
                    "site": 100000,
                    "station_cost": 500000,
                    "satellite_fixed_cost": 250000,
                    "free_space_fixed_cost": 100000,
                },
                {
                    "topology": "usnet-ntn",
                    "requests": 60,
                    "seed": 2,
                    "site": 100000,
                    "tightness": 0.7,
                },
                {
                    "topology": "nsfnet-ntn",
                    "requests": 60,
                    "seed": 1,
                    "site": 150000,
                    "tightness": 0.6,
                },
                {
                    "topology": "usnet-ntn",
                    "requests": 40,
                    "seed": 2,
                    "site": 200000,
                    "tightness": 0.5,
                },
            )
        ],
    },
    "large": {
        "description": "large topohub networks (germany50, janos-us), 200-2000 requests",
        "recipes": [
            {"topology": "sndlib/germany50", "requests": 200, "max_rate": 10, "seed": 1},
            {"topology": "sndlib/germany50", "requests": 1000, "max_rate": 10, "seed": 1},
            {"topology": "sndlib/germany50", "requests": 2000, "max_rate": 10, "seed": 1},
            {"topology": "sndlib/janos-us", "requests": 500, "max_rate": 10, "seed": 1},
        ],
    },
    "design-large": {
        "description": "the design knobs at scale: germany50 (50 nodes) with 200-2000 "
        "requests and brain (161 nodes) with 500 and 2000, seed 5; every instance "
        "solved to a certified gap by the column-generation planner",
        "recipes": [
            dict(r, **DESIGN_KNOBS)
            for r in _grid(
                topology="sndlib/germany50", requests=[200, 500, 1000, 2000], max_rate=10, seed=5
            )
            + _grid(topology="sndlib/brain", requests=[500, 2000], max_rate=10, seed=5)
        ],
    },
    "coupled": {
        "description": "the coupled second stage: joint scenarios of the key rates "
        "(Gaussian copula, correlation 0.5-0.9) and on-demand caps 0.5-1.0 times the "
        "expected on-demand load of shortest paths with newsvendor reservations, "
        "shortfall factor 2-10, K = 10 on NSFNET and USNET with 5-40 requests and "
        "10-50 scenarios, two with tightness 0.7",
        "recipes": _COUPLED,
    },
}

#: Sets defined but not shipped yet, with the reason (none at present).
PENDING_SETS: dict[str, dict[str, Any]] = {}


@dataclass(frozen=True)
class LibraryInstance:
    """One instance of a set: its name, recipe and content hash.

    Attributes
    ----------
    name : str
        As :func:`recipe_name` gives it.
    recipe : Mapping
        Generator parameters (see the module notes).
    hash : str
        Content hash of the built instance
        (:func:`~qkdbench.experiments.provenance.instance_hash`).
    """

    name: str
    recipe: Mapping[str, Any]
    hash: str


@dataclass(frozen=True)
class LibrarySet:
    """A set as its file holds it.

    Attributes
    ----------
    name, description : str
        The file's ``name`` and ``description``.
    instances : tuple of LibraryInstance
        In file order.
    source : str
        The file read.
    by_name : Mapping
        The instances by name.
    """

    name: str
    description: str
    instances: tuple[LibraryInstance, ...]
    source: str = ""
    by_name: Mapping[str, LibraryInstance] = field(default_factory=dict, repr=False)

    def get(self, name: str) -> LibraryInstance:
        """The instance called ``name``.

        Parameters
        ----------
        name : str
            An instance name of the set.

        Returns
        -------
        LibraryInstance

        Raises
        ------
        InputError
            If the set has no such instance.
        """
        if name not in self.by_name:
            raise InputError(
                f"set {self.name!r} has no instance {name!r} (see `qkdbench "
                f"library show {self.name}`)",
                "",
                name,
            )
        return self.by_name[name]


def set_names() -> list[str]:
    """The shipped sets, in table order.

    Returns
    -------
    list of str

    Examples
    --------
    >>> set_names()
    ['paper', 'capacity', 'design', 'ntn', 'large', 'design-large', 'coupled']
    """
    return list(SET_TABLE)


def set_file(name: str, kind: str = "set") -> Path:
    """The package-data file of set ``name`` (``kind``: ``set`` or ``solu``).

    Parameters
    ----------
    name : str
        Set name (not checked).
    kind : {"set", "solu"}
        The set file or its solutions file.

    Returns
    -------
    Path
        ``data/{name}.{kind}.json`` beside this module; it may not exist.
    """
    return Path(__file__).parent / DATA / f"{name}.{kind}.json"


def _check_set_name(name: str) -> None:
    if name not in SET_TABLE:
        pending = (
            f" ({PENDING_SETS[name]['description']}; not shipped yet)"
            if name in PENDING_SETS
            else ""
        )
        raise InputError(f"unknown set{pending}; sets: {', '.join(SET_TABLE)}", "", name)


def read_set(path: str | Path) -> LibrarySet:
    """Read a set file (structure only; :func:`load_instance` checks the hashes).

    Parameters
    ----------
    path : str or Path
        A ``qkdbench-set/1`` file.

    Returns
    -------
    LibrarySet

    Raises
    ------
    InputError
        For a malformed file (one line naming file and place).
    """
    from ..utils.files import read_json

    src = str(path)
    data = read_json(src)
    if not isinstance(data, dict) or data.get("format") != SET_FORMAT:
        raise InputError(f"not a set file (format must be {SET_FORMAT!r})", "format", src)
    raw = data.get("instances")
    if not isinstance(raw, list) or not raw:
        raise InputError("expected a non-empty list", "instances", src)
    out = []
    for k, item in enumerate(raw):
        place = f"instances[{k}]"
        if not isinstance(item, dict) or not {"name", "recipe", "hash"} <= set(item):
            raise InputError("expected an object with name, recipe, hash", place, src)
        if not isinstance(item["recipe"], dict):
            raise InputError("expected an object", f"{place}.recipe", src)
        for key in ("name", "hash"):
            if not isinstance(item[key], str) or not item[key]:
                raise InputError(
                    f"expected a non-empty string, got {item[key]!r:.40}", f"{place}.{key}", src
                )
        out.append(LibraryInstance(item["name"], dict(item["recipe"]), item["hash"]))
    names = [i.name for i in out]
    if len(set(names)) != len(names):
        raise InputError("instance names repeat", "instances", src)
    for key in ("name", "description"):
        if not isinstance(data.get(key, ""), str):
            raise InputError(f"expected a string, got {data[key]!r:.40}", key, src)
    return LibrarySet(
        data.get("name", ""),
        data.get("description", ""),
        tuple(out),
        src,
        {i.name: i for i in out},
    )


def load_set(name: str) -> LibrarySet:
    """The shipped set ``name``.

    Parameters
    ----------
    name : str
        One of :func:`set_names`.

    Returns
    -------
    LibrarySet

    Raises
    ------
    InputError
        For an unknown set (naming the sets there are) or a damaged set file.

    Examples
    --------
    >>> len(load_set("paper").instances)
    18
    """
    _check_set_name(name)
    return read_set(set_file(name))


def load_instance(entry: LibraryInstance, source: str = "") -> Instance:
    """Rebuild an instance from its recipe and check its content hash.

    Parameters
    ----------
    entry : LibraryInstance
        The set file's entry.
    source : str, optional
        The set file, named in errors.

    Returns
    -------
    Instance

    Raises
    ------
    InputError
        If the recipe is bad or the rebuilt instance's hash is not the stored one.

    Examples
    --------
    >>> s = load_set("paper")
    >>> load_instance(s.instances[0]).name
    'usnet-r10-k10-s1'
    """
    where = f"{source}: {entry.name}" if source else entry.name
    inst = instance_from_recipe(entry.recipe, where)
    got = instance_hash(inst)
    if got != entry.hash:
        raise InputError(
            f"rebuilt instance has hash {got}, the set file says {entry.hash} "
            "(generator changed or file edited)",
            "",
            where,
        )
    return inst


def build_set_file(name: str, path: str | Path | None = None) -> Path:
    """Write the set file of ``name`` from :data:`SET_TABLE` (a maintainer's step).

    Parameters
    ----------
    name : str
    path : path-like, optional
        Default: the package-data file.

    Returns
    -------
    Path
    """
    _check_set_name(name)
    spec = SET_TABLE[name]
    items = []
    for recipe in spec["recipes"]:
        inst = instance_from_recipe(recipe)
        items.append({"name": inst.name, "recipe": dict(recipe), "hash": instance_hash(inst)})
    out = Path(path) if path is not None else set_file(name)
    out.write_text(
        json.dumps(
            {
                "format": SET_FORMAT,
                "name": name,
                "description": spec["description"],
                "instances": items,
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    return out
