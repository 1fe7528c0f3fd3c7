"""The parts of a network: links, requests, and the provider targets of anycast requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .costs import UnitCosts
from .demand import Demand

__all__ = ["Link", "Target", "Provider", "Request"]


@dataclass(frozen=True)
class Link:
    """A link ``u - v``; it gives the two arcs ``u->v`` and ``v->u``.

    Parameters
    ----------
    u, v : int or str
        End nodes, as given.
    length_km : float
        Length ``e`` (> 0).
    W_qkd, W_kml, span_km : optional
        Per-link overrides of the instance's :class:`~qkdbench.model.Params`.
    key_rate_kbps : float or Demand, optional
        The link's key rate ``K_D``: a number, or a discrete distribution of link
        *states* (values > 0; weather, pass geometry), shared by both arcs in a
        scenario; independent of every demand and of the other links unless the
        instance's joint ``scenarios`` list the link's states.
    fixed_cost : float, optional
        One-off first-stage cost paid if any route uses either arc. ``None``:
        derived, ``costs.site * (2m - 1)`` for a fiber link, 0 for another kind
        (see :meth:`~qkdbench.model.Instance.link_fixed_cost`).
    kind : str
        ``fiber`` (default), ``free-space`` or ``satellite``.
    unit_costs : UnitCosts, optional
        Wavelength prices given directly, replacing Eqs. 3-8; required for a link
        that is not ``fiber``.
    O_qkd, O_kml : int, optional
        QKD and KM wavelengths that can be bought on demand on each arc in one
        scenario, shared by every request routed over the arc; ``None``: the
        instance's ``params`` value (unlimited unless set there).
    """

    u: Any
    v: Any
    length_km: float
    W_qkd: int | None = None
    W_kml: int | None = None
    span_km: float | None = None
    key_rate_kbps: float | Demand | None = None
    fixed_cost: float | None = None
    kind: str = "fiber"
    unit_costs: UnitCosts | None = None
    O_qkd: int | None = None
    O_kml: int | None = None

    def key_rate_states(self, default: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Key-rate states (ascending) and their probabilities; ``default`` when not set.

        Parameters
        ----------
        default : float
            Key rate (kbps) of a link without its own, normally the instance's
            ``params.key_rate_kbps``.

        Returns
        -------
        values : tuple of float
            Key rates, ascending (one for a fixed rate).
        probs : tuple of float
            Their probabilities.

        Examples
        --------
        >>> Link(1, 2, 10.0, key_rate_kbps=Demand((1.0, 0.1), (0.7, 0.3))).key_rate_states(1.0)
        ((0.1, 1.0), (0.3, 0.7))
        """
        rate = self.key_rate_kbps
        if rate is None:
            return (float(default),), (1.0,)
        if isinstance(rate, Demand):
            pairs = sorted(zip(rate.values, rate.probs, strict=True), key=lambda vp: vp[0])
            return tuple(v for v, _ in pairs), tuple(p for _, p in pairs)
        return (float(rate),), (1.0,)

    @property
    def has_random_key_rate(self) -> bool:
        """Whether the key rate is a distribution of more than one state."""
        return isinstance(self.key_rate_kbps, Demand) and len(self.key_rate_kbps.values) > 1


@dataclass(frozen=True)
class Target:
    """One way to serve an anycast request: a provider's site and its price.

    Parameters
    ----------
    node : int or str
        The site's node; the route ends there.
    provider : str or None
        The provider's id (``None`` only for the single target of an ordinary request).
    service_cost : float
        First-stage cost paid if this target serves the request (>= 0).
    """

    node: Any
    provider: str | None = None
    service_cost: float = 0.0


@dataclass(frozen=True)
class Provider:
    """A provider of services and how many requests it can serve.

    Parameters
    ----------
    id : str
    capacity : int or None
        Largest number of requests it serves; ``None``: unlimited.
    """

    id: str
    capacity: int | None = None


@dataclass(frozen=True)
class Request:
    """A QKD-FL chain request ``f = (s_f, d_f, P_f)``.

    Parameters
    ----------
    id : str
        Request identifier (unique in an instance).
    source, target : int or str
        Node ids; must differ. ``target`` is ``None`` for an anycast request.
    demand : Demand
        Distribution of the key rate ``kappa_f``.
    targets : tuple of Target, optional
        Instead of ``target``: the provider sites that may serve the
        request; a plan chooses one and routes to its node.

    Examples
    --------
    >>> r = Request("f0", 1, None, Demand.point(1.0),
    ...             targets=(Target(2, "A", 5.0), Target(3, "B", 0.0)))
    >>> [t.node for t in r.sinks], r.is_anycast
    ([2, 3], True)
    """

    id: str
    source: Any
    target: Any
    demand: Demand
    targets: tuple[Target, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))

    @property
    def is_anycast(self) -> bool:
        """Whether the request chooses among provider targets."""
        return bool(self.targets)

    @property
    def sinks(self) -> tuple[Target, ...]:
        """The targets a route may end at: ``targets``, or the one ``target`` at no cost."""
        return self.targets if self.targets else (Target(self.target),)
