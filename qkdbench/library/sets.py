"""The instance library's sets: recipes, the one function that builds an instance from one,
and the set files (package data) that pin each instance by its content hash.

A *recipe* is a dict of generator parameters: ``topology``, ``requests``, ``max_rate``,
``seed``, any of the instance-wide parameters of :class:`~qkdbench.model.Params`
(``W_qkd``, ``W_kml``, ``span_km``, ``key_rate_kbps``, ``hop_cost``) and any of the
difficulty knobs of :func:`~qkdbench.topologies.design_instance` (``demand``,
``hotspots``, ``fixed_charge_factor``, ``tightness``, ``site``; :data:`DESIGN_KEYS`).
A recipe whose ``topology`` ends in ``-ntn`` (``usnet-ntn``, ``nsfnet-ntn``, ...) is a
TN-NTN instance of :func:`~qkdbench.topologies.ntn_instance`, and may give that
generator's knobs (:data:`NTN_KEYS`: ground stations, satellite and free-space links,
weather probabilities ``cloud`` and ``haze``, providers and anycast requests, and the
fixed charges of ground stations and non-terrestrial links), plus the design knobs
``site`` and ``tightness``, which that generator has too.
:func:`instance_from_recipe` is the only place a recipe becomes an instance; a
generator knob it does not know is refused, never ignored.

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
from ..model import Instance, Params
from ..topologies import design_instance, load_topology, make_instance
from ..topologies.ntn import DEFAULT_WEATHER, ntn_base, ntn_instance

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
#: Keys every recipe has.
RECIPE_KEYS: tuple[str, ...] = ("topology", "requests", "max_rate", "seed")
#: Optional recipe keys: instance-wide parameters (:class:`~qkdbench.model.Params`).
PARAM_KEYS: tuple[str, ...] = ("W_qkd", "W_kml", "span_km", "key_rate_kbps", "hop_cost")
#: Optional recipe keys: the difficulty knobs of :func:`~qkdbench.topologies.design_instance`
#: (a recipe with any of them is built by that generator).
DESIGN_KEYS: tuple[str, ...] = ("demand", "hotspots", "fixed_charge_factor", "tightness", "site")
#: Optional recipe keys of a ``-ntn`` topology: the knobs of
#: :func:`~qkdbench.topologies.ntn_instance`; ``cloud`` and ``haze`` are weather
#: probabilities (each defaults to the generator's; ``clear`` is the rest).
NTN_KEYS: tuple[str, ...] = (
    "ground_stations",
    "satellite_links",
    "free_space_links",
    "access_km",
    "cloud",
    "haze",
    "providers",
    "sites",
    "provider_capacity",
    "anycast",
    "service_cost",
    "service_spread",
    "station_cost",
    "satellite_fixed_cost",
    "free_space_fixed_cost",
)
#: Design knobs the TN-NTN generator has too (relay sites and tightness).
_NTN_DESIGN_KEYS = ("site", "tightness")
#: Integer-valued NTN knobs (the others are numbers).
_NTN_INTS = (
    "ground_stations",
    "satellite_links",
    "free_space_links",
    "providers",
    "sites",
    "provider_capacity",
)
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
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


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
}

#: Sets defined but not shipped yet, with the reason (none at present).
PENDING_SETS: dict[str, dict[str, Any]] = {}


def instance_from_recipe(recipe: Mapping[str, Any], source: str = "recipe") -> Instance:
    """Build the instance a recipe describes (the one generator entry point of the library).

    Parameters
    ----------
    recipe : Mapping
        :data:`RECIPE_KEYS` (required), any of :data:`PARAM_KEYS` and any of
        :data:`DESIGN_KEYS` (then :func:`~qkdbench.topologies.design_instance`
        builds it; ``tightness`` sets ``W_qkd`` and ``W_kml`` itself, so a recipe
        giving both is refused); for a ``-ntn`` topology, any of :data:`NTN_KEYS`
        and of the design knobs ``site`` and ``tightness`` instead (then
        :func:`~qkdbench.topologies.ntn_instance` builds it).
    source : str
        Named in messages.

    Returns
    -------
    Instance
        Named :func:`recipe_name`.

    Raises
    ------
    InputError
        For a missing key, a key the generator does not know, or a knob out of
        range (one line).

    Examples
    --------
    >>> inst = instance_from_recipe({"topology": "nsfnet", "requests": 3, "max_rate": 2,
    ...                              "seed": 1, "W_qkd": 40})
    >>> inst.name, inst.params.W_qkd, inst.n_requests
    ('nsfnet-r3-k2-s1-wq40', 40, 3)
    >>> inst = instance_from_recipe({"topology": "nsfnet", "requests": 3, "max_rate": 2,
    ...                              "seed": 1, "fixed_charge_factor": 10.0})
    >>> inst.name, inst.has_fixed_charges
    ('nsfnet-r3-k2-s1-fc10', True)
    """
    if not isinstance(recipe, Mapping):
        raise InputError("a recipe must be an object", "", source)
    for key in RECIPE_KEYS:
        if key not in recipe:
            raise InputError(f"recipe lacks {key!r}", "", source)
    known = RECIPE_KEYS + PARAM_KEYS + DESIGN_KEYS + NTN_KEYS
    unknown = sorted(set(recipe) - set(known))
    if unknown:
        raise InputError(
            f"recipe key {unknown[0]!r} is not a generator parameter this "
            f"qkdbench knows (known: {', '.join(known)})",
            "",
            source,
        )
    for key in ("requests", "max_rate", "seed"):
        v = recipe[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(f"{key} must be an integer >= 0, got {v!r}", "", source)
    params = Params(**{k: recipe[k] for k in PARAM_KEYS if k in recipe})
    knobs = {k: recipe[k] for k in DESIGN_KEYS if k in recipe}
    ntn_knobs = {k: recipe[k] for k in NTN_KEYS if k in recipe}
    if ntn_base(str(recipe["topology"])) is not None:
        other = sorted(set(knobs) - set(_NTN_DESIGN_KEYS))
        if other:
            raise InputError(
                f"design knob {other[0]!r} is not a knob of the TN-NTN generator",
                f"recipe.{other[0]}",
                source,
            )
        _check_knobs(knobs, recipe, source)
        return _ntn_from_recipe(recipe, {**ntn_knobs, **knobs}, params, source)
    if ntn_knobs:
        key = sorted(ntn_knobs)[0]
        raise InputError(
            f"TN-NTN knob {key!r} needs a topology ending in -ntn", f"recipe.{key}", source
        )
    if not knobs:
        inst = make_instance(
            str(recipe["topology"]),
            recipe["requests"],
            recipe["max_rate"],
            seed=recipe["seed"],
            params=params,
        )
        return inst.with_requests(inst.requests, recipe_name(recipe))
    _check_knobs(knobs, recipe, source)
    try:
        topo = load_topology(str(recipe["topology"]), params)
        inst = design_instance(
            topo,
            recipe["requests"],
            max_rate=recipe["max_rate"],
            seed=recipe["seed"],
            name=recipe_name(recipe),
            **knobs,
        )
    except InputError as exc:
        raise InputError(exc.problem, f"recipe.{exc.place}" if exc.place else "", source) from None
    return inst


def _ntn_from_recipe(
    recipe: Mapping[str, Any], knobs: Mapping[str, Any], params: Params, source: str
) -> Instance:
    """A TN-NTN recipe's instance (type checks here, ranges are the generator's)."""
    kwargs: dict[str, Any] = {}
    for key, v in knobs.items():
        place = f"recipe.{key}"
        if key in _NTN_INTS:
            if isinstance(v, bool) or not isinstance(v, int):
                raise InputError(f"must be an integer, got {v!r}", place, source)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"must be a number, got {v!r}", place, source)
        if key not in ("cloud", "haze"):
            kwargs[key] = v
    if "cloud" in knobs or "haze" in knobs:
        cloud = float(knobs.get("cloud", DEFAULT_WEATHER["cloud"]))
        haze = float(knobs.get("haze", DEFAULT_WEATHER["haze"]))
        clear = 1.0 - cloud - haze
        if not (0.0 <= cloud <= 1.0 and 0.0 <= haze <= 1.0 and clear >= -1e-12):
            raise InputError(
                f"cloud {cloud:g} and haze {haze:g} must be probabilities with a sum of at most 1",
                "recipe.cloud",
                source,
            )
        kwargs["weather"] = {"clear": max(0.0, clear), "haze": haze, "cloud": cloud}
    try:
        return ntn_instance(
            str(recipe["topology"]),
            recipe["requests"],
            max_rate=recipe["max_rate"],
            seed=recipe["seed"],
            params=params,
            name=recipe_name(recipe),
            **kwargs,
        )
    except InputError as exc:
        raise InputError(exc.problem, f"recipe.{exc.place}" if exc.place else "", source) from None


def _check_knobs(knobs: Mapping[str, Any], recipe: Mapping[str, Any], source: str) -> None:
    """Type checks of the design knobs (their ranges are the generator's)."""
    for key, v in knobs.items():
        place = f"recipe.{key}"
        if key == "demand":
            if not isinstance(v, str):
                raise InputError(f"must be a demand shape name, got {v!r}", place, source)
        elif key == "hotspots":
            if isinstance(v, bool) or not isinstance(v, int):
                raise InputError(f"must be an integer, got {v!r}", place, source)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"must be a number, got {v!r}", place, source)
    if "tightness" in knobs:
        both = [k for k in ("W_qkd", "W_kml") if k in recipe]
        if both:
            raise InputError(
                f"give tightness or {both[0]}, not both (tightness sets W_qkd and W_kml)",
                "recipe.tightness",
                source,
            )


def recipe_name(recipe: Mapping[str, Any]) -> str:
    """The library name of a recipe's instance.

    Examples
    --------
    >>> recipe_name({"topology": "sndlib/germany50", "requests": 200, "max_rate": 10,
    ...              "seed": 1, "W_qkd": 45, "W_kml": 15})
    'germany50-r200-k10-s1-wk15-wq45'
    """
    topo = str(recipe["topology"]).rsplit("/", 1)[-1]
    name = f"{topo}-r{recipe['requests']}-k{recipe['max_rate']}-s{recipe['seed']}"
    short = {
        "W_qkd": "wq",
        "W_kml": "wk",
        "span_km": "d",
        "key_rate_kbps": "kd",
        "hop_cost": "hop",
        "demand": "",
        "hotspots": "h",
        "fixed_charge_factor": "fc",
        "tightness": "t",
        "site": "site",
        "ground_stations": "gs",
        "satellite_links": "sat",
        "free_space_links": "fso",
        "access_km": "acc",
        "cloud": "cloud",
        "haze": "haze",
        "providers": "p",
        "sites": "sites",
        "provider_capacity": "cap",
        "anycast": "any",
        "service_cost": "svc",
        "service_spread": "spr",
        "station_cost": "gsc",
        "satellite_fixed_cost": "satfc",
        "free_space_fixed_cost": "fsofc",
    }
    for key in sorted(set(recipe) - set(RECIPE_KEYS)):
        name += (
            f"-{short.get(key, key)}{recipe[key]:g}"
            if isinstance(recipe[key], float)
            else f"-{short.get(key, key)}{recipe[key]}"
        )
    return name


@dataclass(frozen=True)
class LibraryInstance:
    """One instance of a set: its name, recipe and content hash."""

    name: str
    recipe: Mapping[str, Any]
    hash: str


@dataclass(frozen=True)
class LibrarySet:
    """A set as its file holds it."""

    name: str
    description: str
    instances: tuple[LibraryInstance, ...]
    source: str = ""
    by_name: Mapping[str, LibraryInstance] = field(default_factory=dict, repr=False)

    def get(self, name: str) -> LibraryInstance:
        """The instance called ``name``.

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

    Examples
    --------
    >>> set_names()
    ['paper', 'capacity', 'design', 'ntn', 'large']
    """
    return list(SET_TABLE)


def set_file(name: str, kind: str = "set") -> Path:
    """The package-data file of set ``name`` (``kind``: ``set`` or ``solu``)."""
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
        out.append(LibraryInstance(str(item["name"]), dict(item["recipe"]), str(item["hash"])))
    names = [i.name for i in out]
    if len(set(names)) != len(names):
        raise InputError("instance names repeat", "instances", src)
    return LibrarySet(
        str(data.get("name", "")),
        str(data.get("description", "")),
        tuple(out),
        src,
        {i.name: i for i in out},
    )


def load_set(name: str) -> LibrarySet:
    """The shipped set ``name``.

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
