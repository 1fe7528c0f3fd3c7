"""Plain-Python twin of the cost kernels, for tests only.

It follows docs/model.md literally: for every request, every arc of its route,
every support point of the demand and every state of the link's key rate,
it counts the QKD links (Eq. 1), the wavelengths needed, the best recourse of
that scenario (docs/model.md, property 1), and prices each component count with
Table I, or with the link's own ``unit_costs`` (component ``unit``). It adds
the fixed charges and the chosen targets' service costs. On a coupled instance
it walks the listed scenarios instead: per (arc, scenario) it sums the residuals of
the requests on the arc, buys up to the on-demand cap and prices the rest as
shortfall (docs/model.md, "Coupled second stage"). It shares no
code with :mod:`qkdbench.evaluation.kernels` and reads only the instance's plain
fields, not its derived arrays.
"""

from __future__ import annotations

import math
from typing import Any

from ..model import Demand, Instance, Plan, Scenarios

__all__ = ["reference_evaluate"]


def _ceil(x: float) -> int:
    return max(0, math.ceil(x - 1e-9))


def reference_evaluate(instance: Instance, plan: Plan) -> dict:
    """Expected cost of a plan, by direct enumeration.

    Parameters
    ----------
    instance : Instance
        The instance the plan is for.
    plan : Plan
        A plan whose routes are valid simple paths over the instance's arcs.

    Returns
    -------
    dict
        ``total``, ``first_stage``, ``second_stage``, ``components`` (tx, rx,
        km, si, md, ch, hop, site and node: the fixed charges, unit: links
        priced by ``unit_costs``, service: the providers' service costs), ``phases``
        (reservation, reserved_use, on_demand) and ``wavelengths``.
        Routes are assumed valid (the twin checks nothing).
    """
    p = instance.params
    cost = {ph: dict(getattr(instance.costs, ph)) for ph in ("r", "e", "o")}
    link_of = {}
    for link in instance.links:
        link_of[(link.u, link.v)] = link
        link_of[(link.v, link.u)] = link
    comps = dict.fromkeys(
        ("tx", "rx", "km", "si", "md", "ch", "hop", "unit", "service", "shortfall"), 0.0
    )
    phases = {"r": 0.0, "e": 0.0, "o": 0.0}
    wl = dict.fromkeys(
        (
            "reserved_qkd",
            "used_qkd",
            "on_demand_qkd",
            "reserved_km",
            "used_km",
            "on_demand_km",
            "shortfall_qkd",
            "shortfall_km",
        ),
        0.0,
    )
    req_of = {r.id: r for r in instance.requests}
    # coupled second stage: the joint scenarios, and the residual per (arc, scenario)
    sc = instance.scenarios if instance.scenarios is not None else Scenarios((1.0,), {})
    coupled = instance.scenarios is not None and (
        bool(sc.link_key_rates)
        or any(x is not None for x in (p.O_qkd, p.O_kml))
        or any(ln.O_qkd is not None or ln.O_kml is not None for ln in instance.links)
    )
    link_pos = {frozenset((ln.u, ln.v)): k for k, ln in enumerate(instance.links)}
    residual: dict[tuple[Any, int], tuple[float, float]] = {}
    arc_of: dict[Any, Any] = {}

    def price(ph: str, n_qkd: float, n_kml: float, e: float, m: int, weight: float) -> None:
        # n_qkd QKD wavelengths = n_qkd / 3 QKD links; n_kml KM wavelengths = n_kml KM links
        qkd_links = n_qkd / 3.0
        parts = {
            "tx": 2 * m * qkd_links * cost[ph]["tx"],  # Eq. 3
            "rx": m * qkd_links * cost[ph]["rx"],  # Eq. 4
            "km": (m + 1) * n_kml * cost[ph]["km"],  # Eq. 5
            "si": (m - 1) * n_kml * cost[ph]["si"],  # Eq. 6
            "md": (m + (m - 1)) * n_kml * cost[ph]["md"],  # Eq. 7
            "ch": (3 * e * qkd_links + e * n_kml) * cost[ph]["ch"],  # Eq. 8
        }
        for c, v in parts.items():
            comps[c] += weight * v
            phases[ph] += weight * v

    phase_pos = {"r": 0, "e": 1, "o": 2}

    def direct(link: Any, ph: str, n_qkd: float, n_kml: float, weight: float) -> None:
        # link prices: the link's own price per wavelength, no Table I counts
        v = link.unit_costs.qkd[phase_pos[ph]] * n_qkd + link.unit_costs.km[phase_pos[ph]] * n_kml
        comps["unit"] += weight * v
        phases[ph] += weight * v

    def unit(ph: str, kind: str, e: float, m: int, link: Any) -> float:
        if link.unit_costs is not None:
            table = link.unit_costs.qkd if kind == "y" else link.unit_costs.km
            return table[phase_pos[ph]]
        if kind == "y":
            return (2 * m * cost[ph]["tx"] + m * cost[ph]["rx"]) / 3 + e * cost[ph]["ch"]
        return (
            (m + 1) * cost[ph]["km"]
            + (m - 1) * cost[ph]["si"]
            + (2 * m - 1) * cost[ph]["md"]
            + e * cost[ph]["ch"]
        )

    for route in plan.routes:
        req = req_of[route.request_id]
        for i in range(len(route.path) - 1):
            link = link_of[(route.path[i], route.path[i + 1])]
            e = float(link.length_km)
            span = link.span_km if link.span_km is not None else p.span_km
            rate = link.key_rate_kbps if link.key_rate_kbps is not None else p.key_rate_kbps
            if isinstance(rate, Demand):  # a distribution of link states
                states = list(zip(rate.values, rate.probs, strict=True))
            else:
                states = [(float(rate), 1.0)]
            m = max(1, _ceil(e / span))
            cost_of = (
                price
                if link.unit_costs is None
                else (lambda ph, n_y, n_z, _e, _m, w, _link=link: direct(_link, ph, n_y, n_z, w))
            )
            yr = float(route.reserve_qkd[i])
            zr = float(route.reserve_km[i])
            cost_of("r", yr, zr, e, m, 1.0)
            comps["hop"] += p.hop_cost
            wl["reserved_qkd"] += yr
            wl["reserved_km"] += zr
            use_y = unit("e", "y", e, m, link) <= unit("o", "y", e, m, link)
            use_z = unit("e", "z", e, m, link) <= unit("o", "z", e, m, link)
            if coupled:  # reserved use per request; the residual waits for the arc's cap
                k_link = link_pos[frozenset((link.u, link.v))]
                arc = (route.path[i], route.path[i + 1])
                arc_of[arc] = (link, e, m, cost_of, use_y, use_z)
                for sc_i, prob in enumerate(sc.probs):
                    kappa = sc.key_rates[req.id][sc_i]
                    k_rate = (
                        sc.link_key_rates[k_link][sc_i]
                        if k_link in sc.link_key_rates
                        else float(rate.values[0] if isinstance(rate, Demand) else rate)
                    )
                    n_links = _ceil(kappa / k_rate)
                    ye = min(yr, 3 * n_links) if use_y else 0.0
                    ze = min(zr, n_links) if use_z else 0.0
                    cost_of("e", ye, 0.0, e, m, prob)
                    cost_of("e", 0.0, ze, e, m, prob)
                    wl["used_qkd"] += prob * ye
                    wl["used_km"] += prob * ze
                    dy, dz = residual.get((arc, sc_i), (0.0, 0.0))
                    residual[(arc, sc_i)] = (dy + 3 * n_links - ye, dz + n_links - ze)
                continue
            for kappa, prob_k in zip(req.demand.values, req.demand.probs, strict=True):
                for k_rate, prob_s in states:  # independent of the demand
                    prob = prob_k * prob_s
                    n_links = _ceil(kappa / k_rate)
                    need_y, need_z = 3 * n_links, n_links
                    ye = min(yr, need_y) if use_y else 0.0
                    ze = min(zr, need_z) if use_z else 0.0
                    yo, zo = need_y - ye, need_z - ze
                    cost_of("e", ye, 0.0, e, m, prob)
                    cost_of("e", 0.0, ze, e, m, prob)
                    cost_of("o", yo, zo, e, m, prob)
                    wl["used_qkd"] += prob * ye
                    wl["on_demand_qkd"] += prob * yo
                    wl["used_km"] += prob * ze
                    wl["on_demand_km"] += prob * zo
        if req.targets:  # providers: the chosen target's service cost
            for t in req.targets:
                if t.node == route.path[-1] and t.provider == route.provider:
                    comps["service"] += float(t.service_cost)
    for (arc, sc_i), (dy, dz) in residual.items():  # coupled: on demand up to the cap
        link, e, m, cost_of, _, _ = arc_of[arc]
        cap_y = link.O_qkd if link.O_qkd is not None else p.O_qkd
        cap_z = link.O_kml if link.O_kml is not None else p.O_kml
        yo = dy if cap_y is None else min(dy, float(cap_y))
        zo = dz if cap_z is None else min(dz, float(cap_z))
        prob = sc.probs[sc_i]
        cost_of("o", yo, zo, e, m, prob)
        wl["on_demand_qkd"] += prob * yo
        wl["on_demand_km"] += prob * zo
        short = p.shortfall_factor * (
            unit("o", "y", e, m, link) * (dy - yo) + unit("o", "z", e, m, link) * (dz - zo)
        )
        comps["shortfall"] += prob * short
        wl["shortfall_qkd"] += prob * (dy - yo)
        wl["shortfall_km"] += prob * (dz - zo)
    # fixed charges: every link with an arc on some route pays its fixed charge once (its own
    # fixed_cost, else one relay-site cost per site of its MDI chain: m untrusted and
    # m - 1 trusted relays); every node some route touches pays its own once.
    used_links: set[Any] = set()
    used_nodes: set[Any] = set()
    for route in plan.routes:
        used_nodes.update(route.path)
        for i in range(len(route.path) - 1):
            used_links.add(frozenset((route.path[i], route.path[i + 1])))
    comps["site"] = 0.0
    for link in instance.links:
        if frozenset((link.u, link.v)) in used_links:
            if link.fixed_cost is not None:
                comps["site"] += float(link.fixed_cost)
            elif link.kind == "fiber":  # no derived sites for another kind
                span = link.span_km if link.span_km is not None else p.span_km
                m = max(1, _ceil(float(link.length_km) / span))
                comps["site"] += instance.costs.site * (m + (m - 1))
    comps["node"] = sum(float(g) for n, g in instance.node_fixed_costs.items() if n in used_nodes)
    first = phases["r"] + comps["hop"] + comps["site"] + comps["node"] + comps["service"]
    second = phases["e"] + phases["o"] + comps["shortfall"]
    named = {"reservation": phases["r"], "reserved_use": phases["e"], "on_demand": phases["o"]}
    if coupled:
        named["shortfall"] = comps["shortfall"]
    else:
        del comps["shortfall"]
        del wl["shortfall_qkd"], wl["shortfall_km"]
    return {
        "total": first + second,
        "first_stage": first,
        "second_stage": second,
        "components": comps,
        "phases": named,
        "wavelengths": wl,
    }
