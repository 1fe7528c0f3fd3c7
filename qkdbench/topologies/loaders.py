"""Load a topology from a file, a networkx graph or a topohub name.

Every loader returns an :class:`~qkdbench.model.Instance` without requests;
:func:`~qkdbench.topologies.sample_requests` adds them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import networkx as nx

from ..exceptions import InputError
from ..io import INSTANCE_FORMATS, read_instance
from ..model import Instance, Link, Params
from ..utils.files import read_json
from ..utils.numbers import check_number, parse_number
from .builtin import BUILTIN_TOPOLOGIES, builtin_topology
from .edge_list import parse_edge_list, read_edge_list

__all__ = [
    "parse_edge_list",
    "read_edge_list",
    "read_graphml",
    "read_node_link",
    "from_networkx",
    "topohub_topology",
    "load_topology",
]


def from_networkx(
    graph: nx.Graph,
    length: str = "length_km",
    params: Params | None = None,
    name: str | None = None,
    source: str = "<graph>",
    alternatives: tuple[str, ...] = (),
) -> Instance:
    """An instance from an undirected networkx graph with a length attribute (km).

    Parameters
    ----------
    graph : networkx.Graph
        Each edge is a fiber link; parallel edges of a multigraph, and the two directions
        of a link of a directed graph, keep the shortest.
    length : str
        Edge attribute holding the length in km.
    params : Params, optional
    name : str, optional
        Defaults to ``graph.graph["name"]``.
    source : str, optional
        The file (or other origin) named in errors.
    alternatives : tuple of str, optional
        Other attributes that were looked for (named in the error of an edge without
        ``length``).

    Returns
    -------
    Instance
        Without requests; nodes in the graph's order, their ``name`` attributes kept.

    Raises
    ------
    InputError
        For an edge without a usable length, naming the edge.
    """
    best: dict[frozenset, Link] = {}
    also = f" (nor {' or '.join(map(repr, alternatives))})" if alternatives else ""
    for u, v, data in graph.edges(data=True):
        place = f"edge {u!r}-{v!r}"
        if length not in data:
            raise InputError(f"edge has no {length!r} attribute{also}", place, source)
        if u == v:
            raise InputError(f"self-loop at node {u!r}", place, source)
        raw = data[length]
        if isinstance(raw, str):  # GraphML may type an attribute as a string
            km = parse_number(raw, f"{place}.{length}", positive=True, source=source)
        else:
            km = check_number(raw, f"{place}.{length}", positive=True, source=source)
        key = frozenset((u, v))
        if key not in best or km < best[key].length_km:
            best[key] = Link(u, v, km)
    links = tuple(best.values())
    names = {n: str(d["name"]) for n, d in graph.nodes(data=True) if d.get("name") is not None}
    try:
        return Instance(
            tuple(graph.nodes),
            links,
            (),
            params or Params(),
            name=name or str(graph.graph.get("name", "graph")),
            node_names=names,
        )
    except InputError as exc:
        place = exc.place
        if place.startswith("links["):  # name the edge, not our internal list position
            k = int(place[6 : place.index("]")])
            place = f"edge {links[k].u!r}-{links[k].v!r}"
        raise InputError(exc.problem, place, source) from None


def read_graphml(
    path: str | os.PathLike, length: str = "length_km", params: Params | None = None
) -> Instance:
    """Read a GraphML file whose edges carry a length attribute in km.

    Parameters
    ----------
    path : str or os.PathLike
        The file; its base name without extension names the instance.
    length : str, optional
        Edge attribute holding the length in km (default ``length_km``).
    params : Params, optional
        Instance parameters (default: the paper's).

    Returns
    -------
    Instance
        Without requests.

    Raises
    ------
    InputError
        If the file cannot be parsed, or (see :func:`from_networkx`) an edge has no
        usable length.
    """
    src = os.fspath(path)
    try:
        graph = nx.read_graphml(src)
    except (OSError, nx.NetworkXError, Exception) as exc:  # noqa: BLE001 - parser errors vary
        raise InputError(f"cannot read GraphML ({exc})", "", src) from None
    name = Path(src).stem
    # as read: parallel edges (a multigraph) and both directions of a directed graph reach
    # from_networkx, which keeps the shortest of each link
    return from_networkx(graph, length, params, name=name, source=src)


def read_node_link(
    path: str | os.PathLike, length: str | None = None, params: Params | None = None
) -> Instance:
    """Read networkx node-link JSON (edge length in ``length_km`` or ``dist``, in km).

    Parameters
    ----------
    path : str or os.PathLike
        The JSON file (edges under ``edges`` or ``links``).
    length : str, optional
        Edge attribute holding the length in km; default ``length_km`` if any edge has
        it, else ``dist``.
    params : Params, optional
        Instance parameters (default: the paper's).

    Returns
    -------
    Instance
        Without requests, named by the graph's ``name`` or the file's base name.

    Raises
    ------
    InputError
        If the file is not a node-link graph or an edge has no usable length.
    """
    src = os.fspath(path)
    data = read_json(src)
    return _node_link_instance(data, src, length, params)


def _node_link_instance(data: Any, src: str, length: str | None, params: Params | None) -> Instance:
    if not isinstance(data, dict) or "nodes" not in data:
        raise InputError("not a node-link graph (no 'nodes')", "", src)
    edges_key = "edges" if "edges" in data else "links"
    try:
        graph = nx.node_link_graph(  # a multigraph: parallel edges reach from_networkx
            {**data, "directed": False, "multigraph": True}, edges=edges_key
        )
    except Exception as exc:  # noqa: BLE001 - networkx raises several kinds
        raise InputError(f"not a node-link graph ({exc})", "", src) from None
    alternatives: tuple[str, ...] = ()
    if length is None:
        attrs = {k for _, _, d in graph.edges(data=True) for k in d}
        length = "length_km" if "length_km" in attrs else "dist"
        alternatives = ("length_km",) if length == "dist" else ()
    meta = data.get("graph")
    given = meta.get("name") if isinstance(meta, dict) else None
    name = given if isinstance(given, str) and given else Path(src).stem
    return from_networkx(graph, length, params, name=name, source=src, alternatives=alternatives)


def topohub_topology(key: str, params: Params | None = None) -> Instance:
    """A topology from the ``topohub`` package, e.g. ``"sndlib/germany50"``.

    Lengths are topohub's great-circle ``dist`` in km.

    Parameters
    ----------
    key : str
        A topohub key, ``"COLLECTION/NAME"``.
    params : Params, optional
        Instance parameters (default: the paper's).

    Returns
    -------
    Instance
        Without requests, named by the key with ``/`` replaced by ``-``.

    Raises
    ------
    InputError
        If topohub does not know the key.
    """
    import topohub

    try:
        data = topohub.get(key)
    except Exception:  # noqa: BLE001 - topohub raises KeyError or OSError
        raise InputError(
            f"unknown topology {key!r} (not built in, not a file, not a topohub key)", "", key
        ) from None
    inst = _node_link_instance(data, key, "dist", params)
    return Instance(
        inst.nodes, inst.links, (), inst.params, inst.costs, key.replace("/", "-"), inst.node_names
    )


def load_topology(name_or_file: str | os.PathLike, params: Params | None = None) -> Instance:
    """Load a topology by built-in name, file or topohub key.

    Parameters
    ----------
    name_or_file : str or path
        ``usnet``, ``nsfnet``, ``cost239``; a file ``*.edges`` / ``*.txt``
        (edge list), ``*.graphml``, ``*.json`` (node-link JSON, or an instance
        file, whose requests are dropped); or a topohub key such as
        ``sndlib/germany50``.
    params : Params, optional

    Returns
    -------
    Instance
        Without requests; ``params``, when given, replaces an instance file's own.

    Raises
    ------
    InputError
        For an unknown name or a bad file.
    """
    text = os.fspath(name_or_file)
    if text.lower() in BUILTIN_TOPOLOGIES:
        return builtin_topology(text, params)
    if text and Path(text).exists():  # Path("") is the current directory
        ext = Path(text).suffix.lower()
        if ext == ".graphml":
            return read_graphml(text, params=params)
        if ext == ".json":
            data = read_json(text)
            if isinstance(data, dict) and data.get("format") in INSTANCE_FORMATS:
                inst = read_instance(text)
                return Instance(
                    inst.nodes,
                    inst.links,
                    (),
                    params or inst.params,
                    inst.costs,
                    inst.name,
                    inst.node_names,
                    inst.node_fixed_costs,
                )
            return _node_link_instance(data, text, None, params)
        return read_edge_list(text, params)
    if text.lower().endswith("-ntn"):
        raise InputError(
            f"{text!r} names TN-NTN instances (requests and providers come with "
            "them), not a topology: build one with `qkdbench instance --topology "
            f"{text}` or make_instance",
            "",
            text,
        )
    if "/" in text:
        return topohub_topology(text, params)
    raise InputError(
        f"unknown topology {text!r}: not one of "
        f"{', '.join(BUILTIN_TOPOLOGIES)}, not a file, not a topohub key",
        "",
        text,
    )
