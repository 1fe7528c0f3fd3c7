"""Recipes: the one function that builds an instance from a dict of generator parameters.

The instance library (:mod:`qkdbench.library`) stores its instances as recipes, and
the RL training families (:class:`qkdbench.rl.family.Family`) draw theirs from one.

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
Any recipe may add the coupled second stage (:data:`SCENARIO_KEYS`): ``scenarios``
(``N`` joint scenarios of the key rates, drawn by
:func:`~qkdbench.topologies.joint_scenarios` from the recipe's ``seed``),
``correlation``, ``link_correlation``, ``on_demand_cap`` and ``shortfall_factor``
(:func:`~qkdbench.planning.on_demand.scenario_instance`, applied after the generator).
:func:`instance_from_recipe` is the only place a recipe becomes an instance; a
generator knob it does not know is refused, never ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..exceptions import InputError
from ..model import MAX_MAGNITUDE, Instance, Params, check_number
from ..topologies import design_instance, load_topology, make_instance
from ..topologies.ntn import DEFAULT_WEATHER, ntn_base, ntn_instance
from .on_demand import scenario_instance

__all__ = [
    "RECIPE_KEYS",
    "PARAM_KEYS",
    "DESIGN_KEYS",
    "NTN_KEYS",
    "SCENARIO_KEYS",
    "instance_from_recipe",
    "recipe_name",
]

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
#: Optional recipe keys of the coupled second stage: joint scenarios and on-demand caps
#: (:func:`~qkdbench.planning.on_demand.scenario_instance`; the others need ``scenarios``).
SCENARIO_KEYS: tuple[str, ...] = (
    "scenarios",
    "correlation",
    "link_correlation",
    "on_demand_cap",
    "shortfall_factor",
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
        :func:`~qkdbench.topologies.ntn_instance` builds it); and any of
        :data:`SCENARIO_KEYS` (with ``scenarios``: the generator's instance then gets
        joint scenarios, and caps with ``on_demand_cap``).
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
    >>> inst = instance_from_recipe({"topology": "nsfnet", "requests": 3, "max_rate": 2,
    ...                              "seed": 1, "scenarios": 8, "correlation": 0.5,
    ...                              "on_demand_cap": 1.0})
    >>> inst.name, inst.is_coupled
    ('nsfnet-r3-k2-s1-rho0.5-oc1-sc8', True)
    """
    if not isinstance(recipe, Mapping):
        raise InputError("a recipe must be an object", "", source)
    for key in RECIPE_KEYS:
        if key not in recipe:
            raise InputError(f"recipe lacks {key!r}", "", source)
    known = RECIPE_KEYS + PARAM_KEYS + DESIGN_KEYS + NTN_KEYS + SCENARIO_KEYS
    unknown = sorted(set(recipe) - set(known))
    if unknown:
        raise InputError(
            f"recipe key {unknown[0]!r} is not a generator parameter this "
            f"qkdbench knows (known: {', '.join(known)})",
            "",
            source,
        )
    coupled = {k: recipe[k] for k in SCENARIO_KEYS if k in recipe}
    base = {k: v for k, v in recipe.items() if k not in SCENARIO_KEYS}
    if not coupled:
        return _generated(base, source)
    _check_scenario_keys(coupled, source)
    return _with_scenarios(_generated(base, source), coupled, recipe, source)


def _check_scenario_keys(coupled: Mapping[str, Any], source: str) -> None:
    """Type checks of the coupled second stage's keys (their ranges are the generator's)."""
    if "scenarios" not in coupled:
        key = sorted(coupled)[0]
        raise InputError(f"{key!r} needs 'scenarios'", f"recipe.{key}", source)
    for key, v in coupled.items():
        place = f"recipe.{key}"
        if key == "scenarios":
            if isinstance(v, bool) or not isinstance(v, int):
                raise InputError(f"must be an integer, got {v!r:.40}", place, source)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"must be a number, got {v!r:.40}", place, source)


def _with_scenarios(
    inst: Instance, coupled: Mapping[str, Any], recipe: Mapping[str, Any], source: str
) -> Instance:
    """A recipe's generated instance with its joint scenarios and caps."""
    try:
        return scenario_instance(
            inst,
            coupled["scenarios"],
            correlation=coupled.get("correlation", 0.0),
            seed=recipe["seed"],
            on_demand_cap=coupled.get("on_demand_cap"),
            shortfall_factor=coupled.get("shortfall_factor"),
            link_correlation=coupled.get("link_correlation", 0.0),
            name=recipe_name(recipe),
        )
    except InputError as exc:
        raise InputError(exc.problem, f"recipe.{exc.place}" if exc.place else "", source) from None


def _generated(recipe: Mapping[str, Any], source: str) -> Instance:
    """The instance of a recipe without the coupled second stage's keys."""
    for key in ("requests", "max_rate", "seed"):
        v = recipe[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(f"{key} must be an integer >= 0, got {v!r:.40}", "", source)
        top = MAX_MAGNITUDE if key == "seed" else None
        check_number(v, f"recipe.{key}", integer=True, maximum=top, source=source)
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
        if key in _NTN_INTS and (isinstance(v, bool) or not isinstance(v, int)):
            raise InputError(f"must be an integer, got {v!r:.40}", place, source)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"must be a number, got {v!r:.40}", place, source)
        check_number(v, place, integer=key in _NTN_INTS, source=source)
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

    Parameters
    ----------
    recipe : Mapping
        A recipe with at least ``topology``, ``requests``, ``max_rate`` and ``seed``.

    Returns
    -------
    str
        ``{topology}-r{N}-k{K}-s{seed}`` (the topology's last path part), then one
        ``-{short}{value}`` per other key, keys sorted.

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
        "scenarios": "sc",
        "correlation": "rho",
        "link_correlation": "lrho",
        "on_demand_cap": "oc",
        "shortfall_factor": "phi",
    }
    for key in sorted(set(recipe) - set(RECIPE_KEYS)):
        name += (
            f"-{short.get(key, key)}{recipe[key]:g}"
            if isinstance(recipe[key], float)
            else f"-{short.get(key, key)}{recipe[key]}"
        )
    return name
