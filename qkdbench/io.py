"""Reading and writing instance (``qkdbench-instance/1``, ``/2``) and plan files.

See ``docs/formats.md`` for every key. An instance that uses an extension key
(fixed charges: ``costs.r.site``, link and node ``fixed_cost``; link kinds and
states: link ``kind``, ``unit_costs``, a distribution as ``key_rate_kbps``;
providers: request ``targets``, ``providers``; the coupled second stage: link and
``params`` ``O_qkd``, ``O_kml``, ``params.shortfall_factor``, ``scenarios``) is
``qkdbench-instance/2``;
readers accept both formats, and reject a ``/1`` file carrying an extension key
and any key they do not know, at every level. Readers validate as they go and raise
:class:`~qkdbench.exceptions.InputError` naming the file, the place in it and
the problem, on one line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .exceptions import InputError
from .model import (
    LINK_OVERRIDES,
    PARAMS_X4,
    CostTable,
    Demand,
    Instance,
    Link,
    Params,
    Plan,
    Provider,
    Request,
    Route,
    Scenarios,
    Target,
    UnitCosts,
    check_number,
)
from .utils.files import read_json, write_json
from .utils.jsonsafe import json_safe
from .utils.statuses import PLAN_STATUSES

__all__ = [
    "INSTANCE_FORMAT",
    "INSTANCE_FORMAT_2",
    "INSTANCE_FORMATS",
    "PLAN_FORMAT",
    "read_instance",
    "write_instance",
    "instance_from_dict",
    "instance_to_dict",
    "read_plan",
    "write_plan",
    "plan_from_dict",
    "plan_to_dict",
]

INSTANCE_FORMAT = "qkdbench-instance/1"
#: Format of an instance that uses an extension key (docs/formats.md, "Extension keys").
INSTANCE_FORMAT_2 = "qkdbench-instance/2"
#: Instance formats the readers accept.
INSTANCE_FORMATS = (INSTANCE_FORMAT, INSTANCE_FORMAT_2)
PLAN_FORMAT = "qkdbench-plan/1"

T = TypeVar("T")


def _require(obj: Mapping, key: str, place: str) -> Any:
    if not isinstance(obj, Mapping):
        raise InputError("expected an object", place)
    if key not in obj:
        raise InputError(f"missing key {key!r}", place)
    return obj[key]


def _check_keys(
    obj: Mapping,
    known: set[str],
    place: str,
    *,
    extensions: frozenset[str] | set[str] = frozenset(),
    version2: bool = True,
) -> None:
    """Reject a key not in ``known | extensions``, and an extension key in a ``/1`` file."""
    if not isinstance(obj, Mapping):
        raise InputError("expected an object", place)
    unknown = set(obj) - known - set(extensions)
    if unknown:
        key = sorted(map(str, unknown))[0]
        raise InputError(f"unknown key {key!r}", f"{place}.{key}" if place else key)
    if not version2:
        ext = sorted(set(obj) & set(extensions))
        if ext:
            raise InputError(
                f"extension key {ext[0]!r} needs format {INSTANCE_FORMAT_2!r}",
                f"{place}.{ext[0]}" if place else ext[0],
            )


def _text(obj: Mapping, key: str, place: str, default: str) -> str:
    """``obj[key]`` if it is a string (``default`` if absent or null); anything else is refused."""
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        where = f"{place}.{key}" if place else key
        raise InputError(f"expected a string, got {type(value).__name__} {value!r:.40}", where)
    return value


def _node_id(value: Any, place: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InputError(f"node id must be an integer or a string, got {value!r}", place)
    return value


def _distribution(raw: Any, place: str) -> Demand:
    """A ``{"values": [...], "probs": [...]}`` object as a :class:`Demand`."""
    _check_keys(raw, {"values", "probs"}, place)
    values = _require(raw, "values", place)
    probs = _require(raw, "probs", place)
    if not isinstance(values, list) or not isinstance(probs, list):
        raise InputError("values and probs must be lists", place)
    try:
        return Demand(tuple(values), tuple(probs))
    except InputError as exc:
        raise InputError(exc.problem, place + exc.place.removeprefix("demand")) from None


def _link(ln: Any, place: str, v2: bool) -> Link:
    u = _node_id(_require(ln, "u", place), f"{place}.u")
    v = _node_id(_require(ln, "v", place), f"{place}.v")
    length = check_number(_require(ln, "length_km", place), f"{place}.length_km", positive=True)
    _check_keys(
        ln,
        {"u", "v", "length_km", "W_qkd", "W_kml", "span_km", "key_rate_kbps"},
        place,
        extensions={"fixed_cost", "kind", "unit_costs", "O_qkd", "O_kml"},
        version2=v2,
    )
    extra: dict[str, Any] = {}
    for attr in ("W_qkd", "W_kml", "span_km", "O_qkd", "O_kml"):
        if attr in ln:
            integer = attr.startswith(("W_", "O_"))
            val = check_number(
                ln[attr], f"{place}.{attr}", nonneg=integer, positive=not integer, integer=integer
            )
            extra[attr] = int(val) if integer else val
    if "key_rate_kbps" in ln:
        rate = ln["key_rate_kbps"]
        if isinstance(rate, Mapping):
            if not v2:
                raise InputError(
                    f"a key-rate distribution needs format {INSTANCE_FORMAT_2!r}",
                    f"{place}.key_rate_kbps",
                )
            states = rate.get("values")
            for i, x in enumerate(states if isinstance(states, list) else []):
                if isinstance(x, (int, float)) and not isinstance(x, bool) and x <= 0:
                    raise InputError(
                        f"a key-rate state must be positive, got {float(x)!r}",
                        f"{place}.key_rate_kbps.values[{i}]",
                    )
            extra["key_rate_kbps"] = _distribution(rate, f"{place}.key_rate_kbps")
        else:
            extra["key_rate_kbps"] = check_number(rate, f"{place}.key_rate_kbps", positive=True)
    if "fixed_cost" in ln:
        extra["fixed_cost"] = check_number(ln["fixed_cost"], f"{place}.fixed_cost", nonneg=True)
    if "kind" in ln:
        if not isinstance(ln["kind"], str):
            raise InputError(f"expected a string, got {ln['kind']!r}", f"{place}.kind")
        extra["kind"] = ln["kind"]
    if "unit_costs" in ln:
        try:
            extra["unit_costs"] = UnitCosts.from_dict(ln["unit_costs"])
        except InputError as exc:
            raise InputError(exc.problem, f"{place}.{exc.place}") from None
    return Link(u, v, length, **extra)


def _request(rq: Any, place: str, v2: bool, scenarios: Scenarios | None) -> Request:
    rid = _require(rq, "id", place)
    _check_keys(
        rq, {"id", "source", "target", "demand"}, place, extensions={"targets"}, version2=v2
    )
    if isinstance(rid, bool) or not isinstance(rid, (str, int)):
        raise InputError(f"request id must be a string, got {rid!r}", f"{place}.id")
    src = _node_id(_require(rq, "source", place), f"{place}.source")
    rid = str(rid) if not isinstance(rid, str) else rid
    if scenarios is None:
        demand = _distribution(_require(rq, "demand", place), f"{place}.demand")
    elif "demand" in rq:
        raise InputError(
            "give the key rates either as 'demand' or in the top-level 'scenarios', not both",
            f"{place}.demand",
        )
    elif rid not in scenarios.key_rates:
        raise InputError(f"request {rid!r} is not listed", "scenarios.key_rates")
    else:
        demand = scenarios.marginal(rid)
    if "targets" not in rq:
        dst = _node_id(_require(rq, "target", place), f"{place}.target")
        return Request(rid, src, dst, demand)
    if "target" in rq:
        raise InputError("give either 'target' or 'targets', not both", place)
    raw = rq["targets"]
    if not isinstance(raw, list) or not raw:
        raise InputError(
            "expected a non-empty list of {node, provider, service_cost}", f"{place}.targets"
        )
    targets = []
    for t, tg in enumerate(raw):
        tp = f"{place}.targets[{t}]"
        _check_keys(tg, {"node", "provider", "service_cost"}, tp)
        node = _node_id(_require(tg, "node", tp), f"{tp}.node")
        prov = _require(tg, "provider", tp)
        if not isinstance(prov, str) or not prov:
            raise InputError(f"provider must be a non-empty string, got {prov!r}", f"{tp}.provider")
        cost = check_number(tg.get("service_cost", 0.0), f"{tp}.service_cost", nonneg=True)
        targets.append(Target(node, prov, cost))
    return Request(rid, src, None, demand, tuple(targets))


def _providers(raw: Any) -> tuple[Provider, ...]:
    if not isinstance(raw, list):
        raise InputError("expected a list of {id, capacity}", "providers")
    out = []
    for i, pv in enumerate(raw):
        place = f"providers[{i}]"
        _check_keys(pv, {"id", "capacity"}, place)
        pid = _require(pv, "id", place)
        if not isinstance(pid, str) or not pid:
            raise InputError(f"provider id must be a non-empty string, got {pid!r}", f"{place}.id")
        cap = pv.get("capacity")
        if cap is not None:
            cap = int(check_number(cap, f"{place}.capacity", nonneg=True, integer=True))
        out.append(Provider(pid, cap))
    return tuple(out)


def _column(raw: Any, place: str) -> tuple[float, ...]:
    if not isinstance(raw, list):
        raise InputError("expected a list of one value per scenario", place)
    return tuple(check_number(v, f"{place}[{i}]") for i, v in enumerate(raw))


def _scenarios(raw: Any) -> Scenarios:
    """The top-level ``scenarios`` object (column form) as :class:`Scenarios`."""
    place = "scenarios"
    _check_keys(raw, {"probs", "key_rates", "link_key_rates", "recipe"}, place)
    probs = _column(_require(raw, "probs", place), f"{place}.probs")
    rates = _require(raw, "key_rates", place)
    if not isinstance(rates, Mapping):
        raise InputError('expected an object {"<request id>": [...]}', f"{place}.key_rates")
    key_rates = {str(r): _column(v, f"{place}.key_rates.{r}") for r, v in rates.items()}
    links = raw.get("link_key_rates", {})
    if not isinstance(links, Mapping):
        raise InputError('expected an object {"<link index>": [...]}', f"{place}.link_key_rates")
    link_rates = {}
    for k, v in links.items():
        where = f"{place}.link_key_rates.{k}"
        if not isinstance(k, str) or not k.isdigit() or (len(k) > 1 and k[0] == "0"):
            raise InputError(f"a link is named by its 0-based position in links, got {k!r}", where)
        link_rates[int(k)] = _column(v, where)
    recipe = raw.get("recipe", {})
    if not isinstance(recipe, Mapping):
        raise InputError("expected an object", f"{place}.recipe")
    return Scenarios(probs, key_rates, link_rates, recipe)


def instance_from_dict(data: Mapping[str, Any]) -> Instance:
    """Build an :class:`Instance` from a ``qkdbench-instance/1`` or ``/2`` object.

    Parameters
    ----------
    data : Mapping
        The parsed JSON object.

    Returns
    -------
    Instance

    Raises
    ------
    InputError
        Naming the place (e.g. ``links[3].length_km``) and the problem: a
        malformed or invalid value, an unknown key anywhere, an extension key in
        a ``/1`` file.

    Examples
    --------
    >>> inst = instance_from_dict({"format": "qkdbench-instance/2",
    ...     "nodes": [{"id": 1, "fixed_cost": 5}, {"id": 2}],
    ...     "links": [{"u": 1, "v": 2, "length_km": 100, "fixed_cost": 7}]})
    >>> inst.node_fixed_costs, inst.link_fixed_cost(0)
    ({1: 5.0}, 7.0)
    """
    if not isinstance(data, Mapping):
        raise InputError("expected a JSON object at the top level")
    fmt = data.get("format")
    if fmt not in INSTANCE_FORMATS:
        raise InputError(
            f"unsupported format {fmt!r}, expected {INSTANCE_FORMAT!r} or {INSTANCE_FORMAT_2!r}",
            "format",
        )
    v2 = fmt == INSTANCE_FORMAT_2
    _check_keys(
        data,
        {"format", "name", "params", "costs", "nodes", "links", "requests"},
        "",
        extensions={"providers", "scenarios"},
        version2=v2,
    )
    raw_params = data.get("params", {})
    if isinstance(raw_params, Mapping):
        _check_keys(
            raw_params,
            set(raw_params) - set(PARAMS_X4),
            "params",
            extensions=set(PARAMS_X4),
            version2=v2,
        )
    params = Params.from_dict(raw_params)
    raw_costs = data.get("costs", {})
    if isinstance(raw_costs, Mapping):
        for ph, table in raw_costs.items():
            if isinstance(table, Mapping) and "site" in table:
                if ph != "r":
                    raise InputError(
                        "'site' is a one-off reservation cost: it belongs to phase 'r' only",
                        f"costs.{ph}.site",
                    )
                _check_keys(
                    table, set(table) - {"site"}, f"costs.{ph}", extensions={"site"}, version2=v2
                )
    costs = CostTable.from_dict(raw_costs)
    raw_nodes = _require(data, "nodes", "")
    if not isinstance(raw_nodes, list):
        raise InputError("expected a list", "nodes")
    nodes, names, node_costs = [], {}, {}
    for i, n in enumerate(raw_nodes):
        nid = _node_id(_require(n, "id", f"nodes[{i}]"), f"nodes[{i}].id")
        _check_keys(n, {"id", "name"}, f"nodes[{i}]", extensions={"fixed_cost"}, version2=v2)
        nodes.append(nid)
        if n.get("name") is not None:
            names[nid] = _text(n, "name", f"nodes[{i}]", "")
        if "fixed_cost" in n:
            node_costs[nid] = check_number(n["fixed_cost"], f"nodes[{i}].fixed_cost", nonneg=True)
    raw_links = _require(data, "links", "")
    if not isinstance(raw_links, list):
        raise InputError("expected a list", "links")
    links = [_link(ln, f"links[{k}]", v2) for k, ln in enumerate(raw_links)]
    raw_reqs = data.get("requests", [])
    if not isinstance(raw_reqs, list):
        raise InputError("expected a list", "requests")
    scenarios = _scenarios(data["scenarios"]) if "scenarios" in data else None
    reqs = [_request(rq, f"requests[{k}]", v2, scenarios) for k, rq in enumerate(raw_reqs)]
    providers = _providers(data["providers"]) if "providers" in data else ()
    if "providers" in data and not providers:
        for k, rq in enumerate(reqs):
            if rq.targets:  # the list is given: it must name every provider a target names
                raise InputError(
                    f"unknown provider {rq.targets[0].provider!r} (the providers list is empty)",
                    f"requests[{k}].targets[0].provider",
                )
    return Instance(
        tuple(nodes),
        tuple(links),
        tuple(reqs),
        params,
        costs,
        _text(data, "name", "", "instance"),
        names,
        node_costs,
        providers,
        scenarios,
    )


def instance_to_dict(instance: Instance) -> dict[str, Any]:
    """The instance file object: format ``/2`` if it uses an extension key, else ``/1``.

    Parameters
    ----------
    instance : Instance
        The instance to write.

    Returns
    -------
    dict
        Plain JSON data: ``format``, ``name``, ``params``, ``costs``, ``nodes``, ``links``,
        ``requests``, and ``providers`` when the instance has any; keys whose value is
        the default (no override, no name, no fixed cost) are left out.
    """
    links = []
    for link in instance.links:
        d: dict[str, Any] = {"u": link.u, "v": link.v, "length_km": link.length_km}
        for attr in (*LINK_OVERRIDES, "fixed_cost", "O_qkd", "O_kml"):
            value = getattr(link, attr)
            if value is not None:
                d[attr] = value.to_dict() if isinstance(value, Demand) else value
        if link.kind != "fiber":
            d["kind"] = link.kind
        if link.unit_costs is not None:
            d["unit_costs"] = link.unit_costs.to_dict()
        links.append(d)
    nodes = []
    for n in instance.nodes:
        d = {"id": n}
        if n in instance.node_names:
            d["name"] = instance.node_names[n]
        if n in instance.node_fixed_costs:
            d["fixed_cost"] = instance.node_fixed_costs[n]
        nodes.append(d)
    requests = []
    for r in instance.requests:
        rd: dict[str, Any] = {"id": r.id, "source": r.source}
        if r.targets:
            rd["targets"] = [
                {"node": t.node, "provider": t.provider, "service_cost": t.service_cost}
                for t in r.targets
            ]
        else:
            rd["target"] = r.target
        if instance.scenarios is None:
            rd["demand"] = r.demand.to_dict()
        requests.append(rd)
    out = {
        "format": INSTANCE_FORMAT_2 if instance.uses_extensions else INSTANCE_FORMAT,
        "name": instance.name,
        "params": instance.params.to_dict(),
        "costs": instance.costs.to_dict(),
        "nodes": nodes,
        "links": links,
        "requests": requests,
    }
    if instance.providers:
        out["providers"] = [
            {"id": p.id, **({} if p.capacity is None else {"capacity": p.capacity})}
            for p in instance.providers
        ]
    if instance.scenarios is not None:
        out["scenarios"] = instance.scenarios.to_dict()
    return out


def _read(path: str | os.PathLike, from_dict: Callable[[Any], T]) -> T:
    data = read_json(path)
    try:
        return from_dict(data)
    except InputError as exc:
        raise exc.located(os.fspath(path)) from None


def read_instance(path: str | os.PathLike) -> Instance:
    """Read and validate an instance file.

    Parameters
    ----------
    path : str or os.PathLike
        A ``qkdbench-instance/1`` or ``/2`` file.

    Returns
    -------
    Instance

    Raises
    ------
    InputError
        ``FILE: PLACE: problem`` for an unreadable, malformed or invalid file.
    """
    return _read(path, instance_from_dict)


def write_instance(instance: Instance, path: str | os.PathLike) -> None:
    """Write an instance file.

    Parameters
    ----------
    instance : Instance
        The instance to write (as :func:`instance_to_dict` gives it).
    path : str or os.PathLike
        The file, created or overwritten.
    """
    write_json(instance_to_dict(instance), path)


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The ``qkdbench-plan/1`` object of a plan.

    Parameters
    ----------
    plan : Plan
        The plan to write.

    Returns
    -------
    dict
        Plain JSON data: ``format``, ``instance``, ``planner``, one ``requests`` entry per
        route (``provider`` only when set) and ``stats`` made JSON-safe (non-finite numbers
        become ``null``).
    """
    return {
        "format": PLAN_FORMAT,
        "instance": plan.instance_name,
        "planner": plan.planner,
        "requests": [
            {
                "id": r.request_id,
                **({"provider": r.provider} if r.provider is not None else {}),
                "path": list(r.path),
                "reserve_qkd": json_safe(list(r.reserve_qkd)),
                "reserve_km": json_safe(list(r.reserve_km)),
            }
            for r in plan.routes
        ],
        "stats": json_safe(dict(plan.stats)),
    }


def plan_from_dict(data: Mapping[str, Any]) -> Plan:
    """Build a :class:`Plan` from a ``qkdbench-plan/1`` object (structure only).

    Whether the plan fits an instance (paths on existing arcs, capacities) is
    the evaluator's question, not the reader's.

    Parameters
    ----------
    data : Mapping
        The parsed JSON object.

    Returns
    -------
    Plan
        Reservations that are whole numbers become ``int``; ``stats`` is kept as given.

    Raises
    ------
    InputError
        Naming the place and the problem: another format, a missing key, a path of fewer
        than two nodes, a reservation list not one number per arc, an empty provider,
        an unknown ``stats.status``.
    """
    if not isinstance(data, Mapping):
        raise InputError("expected a JSON object at the top level")
    fmt = data.get("format")
    if fmt != PLAN_FORMAT:
        raise InputError(f"unsupported format {fmt!r}, expected {PLAN_FORMAT!r}", "format")
    raw = _require(data, "requests", "")
    if not isinstance(raw, list):
        raise InputError("expected a list", "requests")
    routes = []
    for k, rq in enumerate(raw):
        place = f"requests[{k}]"
        rid = _require(rq, "id", place)
        if isinstance(rid, bool) or not isinstance(rid, (str, int)):
            raise InputError(f"request id must be a string, got {rid!r:.40}", f"{place}.id")
        path = _require(rq, "path", place)
        if not isinstance(path, list) or len(path) < 2:
            raise InputError("path must list at least two nodes", f"{place}.path")
        for i, n in enumerate(path):
            _node_id(n, f"{place}.path[{i}]")
        res = {}
        for key in ("reserve_qkd", "reserve_km"):
            vals = rq.get(key, [0] * (len(path) - 1))
            if not isinstance(vals, list) or len(vals) != len(path) - 1:
                raise InputError(
                    f"expected a list of {len(path) - 1} numbers, one per arc", f"{place}.{key}"
                )
            clean = []
            for i, x in enumerate(vals):
                v = check_number(x, f"{place}.{key}[{i}]")
                clean.append(int(v) if v == int(v) else v)
            res[key] = tuple(clean)
        prov = rq.get("provider")
        if prov is not None and (not isinstance(prov, str) or not prov):
            raise InputError(
                f"provider must be a non-empty string, got {prov!r}", f"{place}.provider"
            )
        routes.append(Route(str(rid), tuple(path), res["reserve_qkd"], res["reserve_km"], prov))
    stats = data.get("stats", {})
    if not isinstance(stats, Mapping):
        raise InputError("expected an object", "stats")
    status = stats.get("status")
    if status is not None and status not in PLAN_STATUSES:
        raise InputError(f"unknown status {status!r}", "stats.status")
    return Plan(
        _text(data, "instance", "", ""), _text(data, "planner", "", ""), tuple(routes), dict(stats)
    )


def read_plan(path: str | os.PathLike) -> Plan:
    """Read a plan file.

    Parameters
    ----------
    path : str or os.PathLike
        A ``qkdbench-plan/1`` file.

    Returns
    -------
    Plan

    Raises
    ------
    InputError
        ``FILE: PLACE: problem`` for an unreadable, malformed or invalid file.
    """
    return _read(path, plan_from_dict)


def write_plan(plan: Plan, path: str | os.PathLike) -> None:
    """Write a plan file.

    Parameters
    ----------
    plan : Plan
        The plan to write (as :func:`plan_to_dict` gives it).
    path : str or os.PathLike
        The file, created or overwritten.
    """
    write_json(plan_to_dict(plan), path)
