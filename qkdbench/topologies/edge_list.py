"""Edge-list topologies: ``u v length_km`` per line, ``#`` starts a comment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..exceptions import InputError
from ..model import Instance, Link, Params
from ..utils.files import read_text
from ..utils.numbers import parse_number

__all__ = ["parse_edge_list", "read_edge_list"]


def _node(token: str) -> Any:
    try:
        return int(token)
    except ValueError:
        return token


def parse_edge_list(text: str, source: str = "<edge list>") -> tuple[tuple, tuple]:
    """Parse ``u v length_km`` lines (``#`` starts a comment).

    Parameters
    ----------
    text : str
        The edge list; a node token that is an integer becomes an ``int``.
    source : str, optional
        The file named in errors.

    Returns
    -------
    nodes, links : tuple
        Nodes in order of first appearance (integers sorted if all are integers).

    Raises
    ------
    InputError
        Naming the line and the problem: not three fields, a length that is not a
        positive finite number (of at most 1e15 km), a self-loop, a link given twice
        (parallel links are refused, not merged).
    """
    links: list[Link] = []
    nodes: dict[Any, None] = {}
    seen: dict[frozenset, int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3:
            raise InputError(f"expected 'u v length_km', got {line!r}", f"line {lineno}", source)
        u, v = _node(parts[0]), _node(parts[1])
        where = f"line {lineno}"
        length = parse_number(parts[2], f"{where}, length_km", positive=True, source=source)
        if u == v:
            raise InputError(f"self-loop at node {u!r}", where, source)
        key = frozenset((u, v))
        if key in seen:
            raise InputError(
                f"duplicate link {u!r}-{v!r} (also line {seen[key]}); give each link once",
                where,
                source,
            )
        seen[key] = lineno
        nodes.setdefault(u, None)
        nodes.setdefault(v, None)
        links.append(Link(u, v, length))
    order = list(nodes)
    if all(isinstance(n, int) for n in order):
        order.sort()
    return tuple(order), tuple(links)


def read_edge_list(path: str | os.PathLike, params: Params | None = None) -> Instance:
    """Read a ``u v length_km`` edge-list file.

    Parameters
    ----------
    path : str or os.PathLike
        The file; its base name without extension names the instance.
    params : Params, optional
        Instance parameters (default: the paper's).

    Returns
    -------
    Instance
        Without requests.

    Raises
    ------
    InputError
        For an unreadable file or a bad line (see :func:`parse_edge_list`), or an invalid
        topology (a self-loop, a repeated link), naming the file.
    """
    src = os.fspath(path)
    text = read_text(src)
    nodes, links = parse_edge_list(text, src)
    name = Path(src).stem
    try:
        return Instance(nodes, links, (), params or Params(), name=name)
    except InputError as exc:
        raise exc.located(src) from None
