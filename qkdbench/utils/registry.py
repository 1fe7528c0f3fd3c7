"""The planner interface, the registry and plug-in discovery.

The registry sits below every planner package (as a dispatch registry does), so
that heuristics, exact and learned planners register themselves without
importing each other.

A planner is any object with a ``name`` and a method
``plan(instance, *, seed=None, time_limit=None) -> Plan``. Its constructor only
stores parameters (as in scikit-learn); randomness is resolved at call time
from ``seed``.

Planners come from three places, all listed by ``qkdbench planners``:

* the built-in ones (modules in :data:`BUILTIN_MODULES`, registered on first use);
* :func:`register_planner` at run time;
* third-party packages, through the entry-point group ``qkdbench.planners``
  (the entry point names a planner class or a factory).

Examples
--------
>>> from qkdbench.utils.registry import get_planner
>>> get_planner("coqbn").name
'coqbn'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..exceptions import InputError

if TYPE_CHECKING:
    from ..model import Instance, Plan

__all__ = [
    "Planner",
    "PlannerInfo",
    "register_planner",
    "unregister_planner",
    "get_planner",
    "available_planners",
    "proves_optimality",
    "is_deterministic",
    "ENTRY_POINT_GROUP",
    "BUILTIN_MODULES",
    "FEATURES",
    "UNCOUPLED_FEATURES",
    "DEFAULT_SUPPORTS",
    "planner_supports",
    "check_supports",
]

#: The model extensions under which the second stage still separates by request:
#: ``fixed_charges``, ``link_prices`` (links priced by ``unit_costs``),
#: ``link_states`` (random key rates) and ``providers`` (requests with targets).
UNCOUPLED_FEATURES: tuple[str, ...] = ("fixed_charges", "link_prices", "link_states", "providers")
#: Model extensions an instance may use (``Instance.features``) and a planner may
#: declare it handles, in its class attribute ``supports``: the
#: :data:`UNCOUPLED_FEATURES` and ``coupled`` (a second stage that needs the joint
#: scenarios: on-demand caps, or link states listed in the scenarios).
FEATURES: tuple[str, ...] = (*UNCOUPLED_FEATURES, "coupled")
#: What a planner that declares nothing is taken to handle: extensions under which
#: any plan keeps its shape and the evaluator prices it. A request with targets
#: changes a plan's shape (a provider per route), so ``providers`` must be declared.
DEFAULT_SUPPORTS: frozenset[str] = frozenset({"fixed_charges", "link_prices", "link_states"})

#: Entry-point group through which other packages add planners.
ENTRY_POINT_GROUP = "qkdbench.planners"

#: Modules whose planners are built in (imported on first registry use).
BUILTIN_MODULES: tuple[str, ...] = (
    "qkdbench.heuristics.coqbn",
    "qkdbench.heuristics.saa_greedy",
    "qkdbench.heuristics.ga",
    "qkdbench.heuristics.alns",
    "qkdbench.exact.planners",
    "qkdbench.exact.lagrangian",
    "qkdbench.exact.ph",
    "qkdbench.rl.planners",
)


@runtime_checkable
class Planner(Protocol):
    """What every planner provides.

    A planner class may also set ``proves_optimality = True`` when the plans it
    returns with status ``optimal`` are proven optimal (an exact solver);
    comparisons then run it first and use it as the reference; ``supports``,
    the set of :data:`FEATURES` it handles (default :data:`DEFAULT_SUPPORTS`); and
    ``deterministic = True`` when ``seed`` changes nothing in its plans (a class
    attribute, or a property when it depends on the parameters; default
    ``False``): a bench runs it once per instance however many repeats it is
    asked for (:func:`is_deterministic`).
    """

    name: str

    def plan(
        self, instance: Instance, *, seed: int | None = None, time_limit: float | None = None
    ) -> Plan:
        """Return a plan for ``instance``; same seed, same plan.

        Parameters
        ----------
        instance : Instance
            The instance to plan for.
        seed : int, optional
            Resolves every random choice of the planner; ``None`` gives fresh entropy.
        time_limit : float, optional
            Seconds the planner may spend (``None``: its own default or no limit).

        Returns
        -------
        Plan
            A plan for ``instance``, its ``stats`` telling how it was found.
        """
        ...


@dataclass(frozen=True)
class PlannerInfo:
    """A registry entry: the name, where it comes from, and its one-line summary.

    Attributes
    ----------
    name : str
        Registry name.
    origin : str
        ``built-in``, ``registered``, ``plug-in (DIST)`` or what :func:`register_planner` was given.
    summary : str
        First line of the factory's docstring (empty for a plug-in not loaded yet).
    factory : callable or None
        The planner class or factory; ``None`` for a plug-in until :func:`get_planner` loads it.
    entry_point : importlib.metadata.EntryPoint or None
        Where a plug-in's factory is loaded from.
    """

    name: str
    origin: str
    summary: str
    factory: Callable[..., Planner] | None = None
    entry_point: Any = None

    @property
    def proves_optimality(self) -> bool:
        """Whether the planner's ``optimal`` plans are proven (an exact solver)."""
        return bool(getattr(self.factory, "proves_optimality", False))

    @property
    def on_request(self) -> bool:
        """Whether the planner runs only when named (its class attribute ``on_request``).

        A comparison without a planner list leaves such planners out: those that need an
        optional extra and minutes per instance (progressive hedging under MPI).
        """
        return bool(getattr(self.factory, "on_request", False))


_REGISTRY: dict[str, PlannerInfo] = {}
_builtins_loaded = False
_entry_points_loaded = False


def _summary(obj: Any) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0].strip() if doc else ""


def register_planner(name: str, *, origin: str = "registered") -> Callable:
    """Class (or factory) decorator adding a planner to the registry.

    Parameters
    ----------
    name : str
        Registry name (what ``--planner`` takes).
    origin : str
        Shown by ``qkdbench planners``.

    Returns
    -------
    callable
        The decorator: it registers the class or factory it is given and returns it unchanged.

    Raises
    ------
    InputError
        If ``name`` is already registered.

    Examples
    --------
    >>> @register_planner("doc-example")
    ... class Mine:
    ...     '''My planner.'''
    ...     name = "doc-example"
    ...     def plan(self, instance, *, seed=None, time_limit=None): ...
    >>> "doc-example" in available_planners()
    True
    >>> unregister_planner("doc-example")
    """

    def decorate(factory: Callable[..., Planner]) -> Callable[..., Planner]:
        if name in _REGISTRY:
            raise InputError(
                f"a planner named {name!r} is already registered ({_REGISTRY[name].origin})"
            )
        _REGISTRY[name] = PlannerInfo(name, origin, _summary(factory), factory)
        return factory

    return decorate


def unregister_planner(name: str) -> None:
    """Remove a planner registered at run time (for tests and notebooks).

    Parameters
    ----------
    name : str
        Registry name; an unknown name is ignored.
    """
    _REGISTRY.pop(name, None)


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for mod in BUILTIN_MODULES:
        importlib.import_module(mod)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _REGISTRY:
            continue  # a built-in or run-time registration wins; listed once
        dist = getattr(ep, "dist", None)
        origin = f"plug-in ({dist.name})" if dist is not None else "plug-in"
        _REGISTRY[ep.name] = PlannerInfo(ep.name, origin, "", None, ep)


def available_planners() -> dict[str, PlannerInfo]:
    """All planners: built in, registered and plugged in, by name.

    Returns
    -------
    dict of str to PlannerInfo
        A copy of the registry, after loading the built-in modules and the entry points.
    """
    _load_builtins()
    _load_entry_points()
    return dict(_REGISTRY)


def proves_optimality(name: str) -> bool:
    """Whether the registered planner ``name`` proves optimality (``False`` if unknown).

    Parameters
    ----------
    name : str
        Registry name.

    Returns
    -------
    bool

    Examples
    --------
    >>> proves_optimality("exact"), proves_optimality("coqbn")
    (True, False)
    """
    info = available_planners().get(name)
    return info is not None and info.proves_optimality


def is_deterministic(planner: Any, params: Mapping[str, Any] | None = None) -> bool:
    """Whether a planner declares that ``seed`` changes nothing in its plans.

    Read from the planner object's ``deterministic`` attribute (a class
    attribute, or a property that depends on the parameters); a planner that
    declares nothing is taken to be stochastic.

    Parameters
    ----------
    planner : str or object
        A registry name (built with ``params``) or a planner object.
    params : Mapping, optional
        Constructor keywords, with a registry name.

    Returns
    -------
    bool
        ``False`` also for an unknown name or parameters the planner refuses
        (its runs then fail on their own).

    Examples
    --------
    >>> is_deterministic("coqbn"), is_deterministic("ga")
    (True, False)
    >>> is_deterministic("saa-greedy"), is_deterministic("saa-greedy", {"n_scenarios": 50})
    (True, False)
    """
    if isinstance(planner, str):
        try:
            planner = get_planner(planner, **dict(params or {}))
        except Exception:  # unknown here, or refused parameters: stochastic, say
            return False
    return bool(getattr(planner, "deterministic", False))


def get_planner(name: str, **params: Any) -> Planner:
    """A new planner by registry name, constructed with ``params``.

    Parameters
    ----------
    name : str
        Registry name (a plug-in's entry point is loaded on first use).
    **params
        Keyword arguments of the planner's constructor.

    Returns
    -------
    Planner

    Raises
    ------
    KeyError
        For an unknown name (the message lists the known ones).
    TypeError
        If the factory's object has no ``name`` or no ``plan()``.
    """
    infos = available_planners()
    if name not in infos:
        raise KeyError(f"unknown planner {name!r}; known: {', '.join(sorted(infos))}")
    info = infos[name]
    factory = info.factory
    if factory is None:
        factory = info.entry_point.load()
        _REGISTRY[name] = PlannerInfo(name, info.origin, _summary(factory), factory)
    planner = factory(**params)
    if not isinstance(planner, Planner):
        raise TypeError(f"planner {name!r} does not provide name and plan()")
    return planner


def planner_supports(planner: Any) -> frozenset[str]:
    """The model extensions ``planner`` (an object or a class) declares it handles.

    Parameters
    ----------
    planner : object or type
        Its attribute ``supports`` is read.

    Returns
    -------
    frozenset of str
        Names from :data:`FEATURES`; :data:`DEFAULT_SUPPORTS` if it declares nothing.
    """
    declared = getattr(planner, "supports", None)
    return DEFAULT_SUPPORTS if declared is None else frozenset(declared)


def check_supports(planner: Any, instance: Instance) -> None:
    """Refuse an instance that uses an extension ``planner`` does not handle.

    Parameters
    ----------
    planner : object or type
        A planner, its extensions as :func:`planner_supports` reads them.
    instance : Instance
        Its :attr:`~qkdbench.model.Instance.features` are checked.

    Raises
    ------
    InputError
        Naming the planner, the instance and the extensions it does not handle.

    Examples
    --------
    >>> from qkdbench.model import Demand, Instance, Link, Request, Target
    >>> inst = Instance((1, 2), (Link(1, 2, 10.0),),
    ...                 (Request("f", 1, None, Demand.point(1), (Target(2, "A"),)),))
    >>> class Plain:
    ...     name = "plain"
    >>> try:
    ...     check_supports(Plain(), inst)
    ... except InputError as exc:
    ...     print(exc)
    planner 'plain' does not handle requests with provider targets of instance 'instance'
    """
    missing = [f for f in FEATURES if f in instance.features and f not in planner_supports(planner)]
    if missing:
        words = {
            "fixed_charges": "fixed charges",
            "link_prices": "links priced by unit_costs",
            "link_states": "random link key rates",
            "providers": "requests with provider targets",
            "coupled": "a coupled second stage (on-demand caps or joint link states)",
        }
        name = getattr(planner, "name", type(planner).__name__)
        raise InputError(
            f"planner {name!r} does not handle "
            f"{', '.join(words[f] for f in missing)} of instance "
            f"{instance.name!r}"
        )
