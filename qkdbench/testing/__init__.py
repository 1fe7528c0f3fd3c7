"""Conformance checks every planner passes, like scikit-learn's ``check_estimator``.

:func:`check_planner` runs them all and raises :class:`PlannerCheckError`
(an ``AssertionError`` naming the check) at the first failure;
:func:`planner_checks` yields them one by one, for ``pytest`` parametrisation.

The checks
----------
``protocol``
    The planner has a non-empty string ``name`` and a ``plan`` method.
``valid_plans``
    On USNET, NSFNET, COST239, a Waxman topology and a small hand-made
    instance (per-link key rates and capacities, unequal demands): one route
    per request, each a simple path from source to target on existing arcs;
    the evaluator finds the plan feasible with a finite cost; the plan names
    the instance; its status is ``optimal``, ``feasible`` or ``heuristic``;
    its stats are JSON-serialisable.
``deterministic``
    The same seed gives the same plan, from the same planner object and from a
    fresh one; a planner that declares ``deterministic`` (seed changes nothing,
    :func:`~qkdbench.utils.registry.is_deterministic`) gives it for another seed too.
``no_mutation``
    Planning leaves the instance as it was (its JSON form, its per-arc and
    per-request arrays, its graph).
``roundtrip``
    The plan survives ``write_plan`` / ``read_plan``: same routes, same cost.
``time_limit``
    With ``time_limit=T`` on USNET with 40 requests the call returns within
    ``time_factor * T + time_margin`` seconds (generous by default) with a
    valid, feasible plan.
``edge_cases``
    Zero requests: an empty plan, or a ``ValueError`` with a message. Zero
    reservation capacity: a feasible plan (every reservation 0).
``extensions``
    For each model extension (``FEATURES``) a tiny instance using only it
    (:func:`feature_instance`). If the planner declares the extension in its
    ``supports``: a valid, feasible plan. If not: qkdbench's
    :func:`~qkdbench.utils.registry.check_supports` refuses the instance, and
    a planner that declares ``supports`` explicitly must itself either plan
    it validly or refuse it with an :class:`~qkdbench.exceptions.InputError`
    (never another exception); a planner that declares nothing is never
    handed such an instance (the command line and the comparisons call
    ``check_supports`` first), so its ``plan`` is not called on it. A planner
    declaring ``providers`` must also plan a small random instance with link
    kinds, key-rate states and providers
    (:func:`link_kinds_and_providers_instance`): every request with targets
    names a provider, its route ends at a target of that provider, no provider
    serves more requests than its capacity, and the evaluator finds the plan
    feasible.

Examples
--------
>>> from qkdbench.testing import check_planner, planner_checks
>>> [name for name, run in planner_checks("coqbn")][:3]
['protocol', 'valid_plans', 'deterministic']
>>> sorted(check_planner("coqbn"))[:3]  # doctest: +SKIP
['deterministic', 'edge_cases', 'no_mutation']

The instances the checks plan (:func:`check_instances`, :func:`feature_instance`,
:func:`link_kinds_and_providers_instance`) and :func:`all_features_instance` are built in
:mod:`qkdbench.testing.instances` and importable from here.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..evaluation import evaluate, route_violations
from ..evaluation.pricing import arc_table, support_table
from ..exceptions import InputError, PlannerCheckError
from ..io import instance_to_dict, plan_to_dict, read_plan, write_plan
from ..model import Instance, Params, Plan
from ..topologies import make_instance
from ..utils.registry import (
    FEATURES,
    Planner,
    check_supports,
    get_planner,
    is_deterministic,
    planner_supports,
)
from ..utils.statuses import USABLE_STATUSES
from .instances import (
    all_features_instance,
    check_instances,
    feature_instance,
    link_kinds_and_providers_instance,
)

__all__ = [
    "PlannerCheckError",
    "CHECKS",
    "check_instances",
    "feature_instance",
    "all_features_instance",
    "link_kinds_and_providers_instance",
    "planner_checks",
    "check_planner",
]


# --------------------------------------------------------------------------- helpers


def _make(planner: Any, params: Mapping[str, Any]) -> Callable[[], Planner]:
    """A factory of fresh planner objects."""
    if isinstance(planner, str):
        return lambda: get_planner(planner, **params)
    if isinstance(planner, type) or (callable(planner) and not hasattr(planner, "plan")):
        return lambda: planner(**params)
    return lambda: copy.deepcopy(planner)


def _fail(check: str, name: str, problem: str) -> None:
    raise PlannerCheckError(check, name, problem)


def _run(p: Planner, check: str, inst: Instance, **kw: Any) -> Plan:
    try:
        plan = p.plan(inst, **kw)
    except Exception as exc:  # a crash is a failed check, reported as such
        _fail(check, p.name, f"plan() raised {type(exc).__name__}: {exc} on {inst.name!r}")
    if not isinstance(plan, Plan):
        _fail(check, p.name, f"plan() returned {type(plan).__name__}, not a Plan")
    return plan


def _require_valid(check: str, p: Planner, inst: Instance, plan: Plan) -> float:
    problems = route_violations(inst, plan)
    if problems:
        _fail(check, p.name, f"invalid plan on {inst.name!r}: {problems[0]}")
    ev = evaluate(inst, plan)
    if not ev.feasible:
        _fail(check, p.name, f"infeasible plan on {inst.name!r}: {ev.violations[0]}")
    if not math.isfinite(ev.total):
        _fail(check, p.name, f"cost {ev.total} on {inst.name!r}")
    if plan.status not in USABLE_STATUSES:
        _fail(check, p.name, f"status {plan.status!r} on {inst.name!r}")
    return ev.total


def _same_routes(a: Plan, b: Plan) -> bool:
    def key(plan: Plan) -> list[tuple[str, tuple[Any, ...], tuple[int, ...], tuple[int, ...]]]:
        return sorted(
            (
                r.request_id,
                tuple(r.path),
                tuple(map(int, r.reserve_qkd)),
                tuple(map(int, r.reserve_km)),
            )
            for r in plan.routes
        )

    return key(a) == key(b)


def _snapshot(inst: Instance) -> tuple:
    arcs = {k: np.array(v, copy=True) for k, v in vars(arc_table(inst)).items()}
    support = {k: np.array(v, copy=True) for k, v in vars(support_table(inst)).items()}
    graph = sorted((repr(u), repr(v), sorted(d.items())) for u, v, d in inst.graph.edges(data=True))
    return json.dumps(instance_to_dict(inst), sort_keys=True, default=repr), arcs, support, graph


# --------------------------------------------------------------------------- checks


def check_protocol(make: Callable[[], Planner], **_: Any) -> None:
    """``name`` is a non-empty string and ``plan`` is callable."""
    p = make()
    name = getattr(p, "name", None)
    if not isinstance(name, str) or not name:
        _fail("protocol", repr(p), f"name must be a non-empty string, got {name!r}")
    if not isinstance(p, Planner) or not callable(getattr(p, "plan", None)):
        _fail("protocol", str(name), "no plan() method")


def check_valid_plans(
    make: Callable[[], Planner], *, instances: Sequence[Instance] | None = None, **_: Any
) -> None:
    """Valid, feasible, costed plans on several topologies and sizes."""
    p = make()
    for inst in instances or check_instances():
        plan = _run(p, "valid_plans", inst, seed=0)
        if plan.instance_name != inst.name:
            _fail(
                "valid_plans",
                p.name,
                f"plan names instance {plan.instance_name!r}, not {inst.name!r}",
            )
        _require_valid("valid_plans", p, inst, plan)
        try:
            json.dumps(plan_to_dict(plan))
        except (TypeError, ValueError) as exc:
            _fail("valid_plans", p.name, f"stats are not JSON-serialisable: {exc}")


def check_deterministic(make: Callable[[], Planner], **_: Any) -> None:
    """Same seed, same plan (same object twice, and a fresh object); any seed if declared."""
    inst = make_instance("nsfnet", 8, 6, seed=5)
    p = make()
    a = _run(p, "deterministic", inst, seed=7)
    b = _run(p, "deterministic", inst, seed=7)
    c = _run(make(), "deterministic", inst, seed=7)
    if not _same_routes(a, b):
        _fail("deterministic", p.name, "two calls with seed 7 gave different plans")
    if not _same_routes(a, c):
        _fail("deterministic", p.name, "a fresh planner with seed 7 gave a different plan")
    if is_deterministic(p):
        d = _run(make(), "deterministic", inst, seed=8)
        if not _same_routes(a, d):
            _fail(
                "deterministic",
                p.name,
                "declares deterministic (seed changes nothing) but seeds 7 and 8 gave "
                "different plans",
            )


def check_no_mutation(make: Callable[[], Planner], **_: Any) -> None:
    """Planning leaves the instance untouched."""
    inst = make_instance("cost239", 6, 4, seed=6)
    before = _snapshot(inst)
    p = make()
    _run(p, "no_mutation", inst, seed=0)
    after = _snapshot(inst)
    if before[0] != after[0]:
        _fail("no_mutation", p.name, "the instance's content changed")
    for part, label in ((1, "arc arrays"), (2, "support arrays")):
        for key, arr in before[part].items():
            if not np.array_equal(arr, after[part][key]):
                _fail("no_mutation", p.name, f"the instance's {label} changed ({key})")
    if before[3] != after[3]:
        _fail("no_mutation", p.name, "the instance's graph changed")


def check_roundtrip(make: Callable[[], Planner], **_: Any) -> None:
    """``write_plan`` then ``read_plan`` gives the same routes and cost."""
    inst = make_instance("usnet", 6, 4, seed=8)
    p = make()
    plan = _run(p, "roundtrip", inst, seed=0)
    cost = _require_valid("roundtrip", p, inst, plan)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "plan.json")
        try:
            write_plan(plan, path)
            back = read_plan(path)
        except Exception as exc:
            _fail("roundtrip", p.name, f"{type(exc).__name__}: {exc}")
    if (
        not _same_routes(plan, back)
        or back.planner != plan.planner
        or back.instance_name != plan.instance_name
    ):
        _fail("roundtrip", p.name, "the plan read back differs from the plan written")
    if evaluate(inst, back).total != cost:
        _fail("roundtrip", p.name, "the plan read back has another cost")


def check_time_limit(
    make: Callable[[], Planner],
    *,
    time_limit: float = 2.0,
    time_factor: float = 2.0,
    time_margin: float = 10.0,
    **_: Any,
) -> None:
    """The call returns within ``time_factor * time_limit + time_margin`` seconds."""
    inst = make_instance("usnet", 40, 10, seed=9)
    p = make()
    start = time.perf_counter()
    plan = _run(p, "time_limit", inst, seed=0, time_limit=time_limit)
    took = time.perf_counter() - start
    allowed = time_factor * time_limit + time_margin
    if took > allowed:
        _fail(
            "time_limit",
            p.name,
            f"took {took:.2f} s with time_limit={time_limit:g} (allowed {allowed:.2f} s)",
        )
    _require_valid("time_limit", p, inst, plan)


def check_edge_cases(make: Callable[[], Planner], **_: Any) -> None:
    """Zero requests and zero reservation capacity."""
    p = make()
    topo = make_instance("nsfnet", 0, 3, seed=1)
    try:
        plan = p.plan(topo, seed=0)
    except ValueError as exc:
        if not str(exc).strip():
            _fail("edge_cases", p.name, "zero requests: ValueError without a message")
    except Exception as exc:
        _fail(
            "edge_cases",
            p.name,
            f"zero requests: {type(exc).__name__}: {exc} (expected an empty plan or a ValueError)",
        )
    else:
        if not isinstance(plan, Plan) or plan.routes:
            _fail("edge_cases", p.name, "zero requests: expected a plan without routes")
    tight = make_instance("usnet", 5, 4, seed=2, params=Params(W_qkd=0, W_kml=0))
    plan = _run(p, "edge_cases", tight, seed=0)
    _require_valid("edge_cases", p, tight, plan)


def _require_providers(check: str, p: Planner, inst: Instance, plan: Plan) -> None:
    """Every anycast request names a provider it may use; no provider over capacity."""
    served: dict[str, int] = {}
    by_id = {r.request_id: r for r in plan.routes}
    for req in inst.requests:
        route = by_id.get(req.id)
        if route is None or not req.is_anycast:
            continue
        if route.provider is None:
            _fail(
                check,
                p.name,
                f"request {req.id!r} on {inst.name!r} has targets but its route names no provider",
            )
        ok = [t for t in req.targets if t.provider == route.provider and t.node == route.path[-1]]
        if not ok:
            _fail(
                check,
                p.name,
                f"request {req.id!r} on {inst.name!r}: route ends at "
                f"{route.path[-1]!r}, not a target of provider "
                f"{route.provider!r}",
            )
        served[str(route.provider)] = served.get(str(route.provider), 0) + 1
    for pid, n in served.items():
        cap = inst.provider_capacity.get(pid)
        if cap is not None and n > cap:
            _fail(
                check,
                p.name,
                f"provider {pid!r} serves {n} requests on {inst.name!r}, capacity {cap}",
            )


def check_extensions(make: Callable[[], Planner], **_: Any) -> None:
    """Each extension: planned validly if declared, refused cleanly if not."""
    p = make()
    declared = planner_supports(p)
    explicit = getattr(p, "supports", None) is not None
    for feature in FEATURES:
        inst = feature_instance(feature)
        if feature in declared:
            plan = _run(p, "extensions", inst, seed=0)
            _require_valid("extensions", p, inst, plan)
            _require_providers("extensions", p, inst, plan)
            continue
        try:
            check_supports(p, inst)
        except InputError:
            pass
        else:
            _fail(
                "extensions",
                p.name,
                f"check_supports accepts {inst.name!r} although {feature!r} is not declared",
            )
        if not explicit:
            continue
        try:
            plan = p.plan(inst, seed=0)
        except InputError:
            continue
        except Exception as exc:
            _fail(
                "extensions",
                p.name,
                f"{feature!r} is not declared, and plan() raised "
                f"{type(exc).__name__}: {exc} on {inst.name!r} "
                "instead of an InputError",
            )
        _require_valid("extensions", p, inst, plan)
        _require_providers("extensions", p, inst, plan)
    if "providers" in declared:
        inst = link_kinds_and_providers_instance("nsfnet", 6, 3, seed=11)
        plan = _run(p, "extensions", inst, seed=0)
        _require_valid("extensions", p, inst, plan)
        _require_providers("extensions", p, inst, plan)


#: The checks by name, in the order :func:`check_planner` runs them.
CHECKS: dict[str, Callable[..., None]] = {
    "protocol": check_protocol,
    "valid_plans": check_valid_plans,
    "deterministic": check_deterministic,
    "no_mutation": check_no_mutation,
    "roundtrip": check_roundtrip,
    "time_limit": check_time_limit,
    "edge_cases": check_edge_cases,
    "extensions": check_extensions,
}


def planner_checks(
    planner: Any,
    *,
    params: Mapping[str, Any] | None = None,
    checks: Sequence[str] | None = None,
    **options: Any,
) -> Iterator[tuple[str, Callable[[], None]]]:
    """Yield ``(check name, callable)`` pairs; each callable runs one check.

    Parameters
    ----------
    planner, params, checks, options
        As for :func:`check_planner`.

    Yields
    ------
    name : str
        A check of :data:`CHECKS`, in the order asked for.
    run : callable
        Runs that check with no argument; raises :class:`PlannerCheckError` if it fails.

    Raises
    ------
    KeyError
        For an unknown check name (when the generator reaches it).
    """
    make = _make(planner, dict(params or {}))
    names = list(CHECKS) if checks is None else list(checks)
    for name in names:
        if name not in CHECKS:
            raise KeyError(f"unknown check {name!r}; known: {', '.join(CHECKS)}")
        fn = CHECKS[name]
        yield name, functools.partial(fn, make, **options)


def check_planner(
    planner: Any,
    *,
    params: Mapping[str, Any] | None = None,
    checks: Sequence[str] | None = None,
    time_limit: float = 2.0,
    time_factor: float = 2.0,
    time_margin: float = 10.0,
    instances: Sequence[Instance] | None = None,
) -> dict[str, float]:
    """Run the conformance checks on a planner.

    Parameters
    ----------
    planner : str, planner class or factory, or planner object
        A registry name (built with ``get_planner(name, **params)``), a class or
        factory (called with ``params``), or an object (deep-copied when a
        fresh one is needed).
    params : Mapping, optional
        Constructor parameters.
    checks : sequence of str, optional
        A subset of :data:`CHECKS` (default all).
    time_limit, time_factor, time_margin : float
        The ``time_limit`` check: limit given to the planner, and the allowed
        ``time_factor * time_limit + time_margin`` seconds.
    instances : sequence of Instance, optional
        Instances for ``valid_plans`` (default :func:`check_instances`).

    Returns
    -------
    dict
        Seconds taken by each check that passed.

    Raises
    ------
    PlannerCheckError
        At the first failing check, naming it and the problem.
    """
    out: dict[str, float] = {}
    for name, run in planner_checks(
        planner,
        params=params,
        checks=checks,
        time_limit=time_limit,
        time_factor=time_factor,
        time_margin=time_margin,
        instances=instances,
    ):
        start = time.perf_counter()
        run()
        out[name] = time.perf_counter() - start
    return out
