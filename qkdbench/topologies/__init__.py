"""Topologies: built-in reference networks, loaders, generators, request and scenario sampling.

Examples
--------
>>> from qkdbench.topologies import load_topology, sample_requests
>>> topo = load_topology("usnet")
>>> len(topo.nodes), len(topo.links)
(24, 43)
>>> inst = sample_requests(topo, 20, max_rate=10, seed=1)
>>> inst.name
'usnet-r20-k10-s1'
"""

from .builtin import BUILTIN_TOPOLOGIES, builtin_topology
from .design import DEMAND_SHAPES, demand_shape, design_instance
from .generators import waxman_topology
from .instances import make_instance
from .loaders import (
    from_networkx,
    load_topology,
    read_edge_list,
    read_graphml,
    read_node_link,
    topohub_topology,
)
from .ntn import NTN_EXAMPLES, add_providers, ntn_instance, ntn_topology
from .requests import sample_requests
from .scenarios import joint_scenarios

__all__ = [
    "BUILTIN_TOPOLOGIES",
    "builtin_topology",
    "waxman_topology",
    "from_networkx",
    "load_topology",
    "read_edge_list",
    "read_graphml",
    "read_node_link",
    "topohub_topology",
    "make_instance",
    "sample_requests",
    "DEMAND_SHAPES",
    "demand_shape",
    "design_instance",
    "NTN_EXAMPLES",
    "ntn_instance",
    "ntn_topology",
    "add_providers",
    "joint_scenarios",
]
