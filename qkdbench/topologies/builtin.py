"""The reference topologies shipped with the package: USNET, NSFNET, COST239.

USNET (24 nodes, 43 links) is the paper's topology; the per-link lengths are
the majority of public copies. NSFNET uses the classic 14-node numbering
(1 Seattle ... 14 Washington DC); COST239 numbers 1 London ... 11 Vienna.
"""

from __future__ import annotations

from importlib.resources import files

from ..model import Instance, Params
from .edge_list import parse_edge_list

__all__ = ["BUILTIN_TOPOLOGIES", "builtin_topology"]

#: Names of the built-in topologies.
BUILTIN_TOPOLOGIES: tuple[str, ...] = ("usnet", "nsfnet", "cost239")

_NAMES = {
    "nsfnet": {
        1: "WA",
        2: "CA1",
        3: "CA2",
        4: "UT",
        5: "CO",
        6: "TX",
        7: "NE",
        8: "IL",
        9: "PA",
        10: "GA",
        11: "MI",
        12: "NY",
        13: "NJ",
        14: "DC",
    },
    "cost239": {
        1: "London",
        2: "Paris",
        3: "Brussels",
        4: "Amsterdam",
        5: "Luxembourg",
        6: "Zurich",
        7: "Milan",
        8: "Copenhagen",
        9: "Berlin",
        10: "Prague",
        11: "Vienna",
    },
}


def builtin_topology(name: str, params: Params | None = None) -> Instance:
    """A built-in topology as an instance without requests.

    Parameters
    ----------
    name : {"usnet", "nsfnet", "cost239"}
    params : Params, optional
        Instance parameters (default: the paper's).

    Returns
    -------
    Instance
        Named ``name`` in lower case, with the nodes' city or state names.

    Raises
    ------
    KeyError
        For an unknown name.
    """
    key = name.lower()
    if key not in BUILTIN_TOPOLOGIES:
        raise KeyError(
            f"unknown built-in topology {name!r}; known: {', '.join(BUILTIN_TOPOLOGIES)}"
        )
    text = files(__package__).joinpath("data", f"{key}.edges").read_text()
    nodes, links = parse_edge_list(text, f"{key}.edges")
    return Instance(nodes, links, (), params or Params(), name=key, node_names=_NAMES.get(key, {}))
