"""The strong bound for fixed charges: the linking rows relaxed, solved by column generation.

The capacity Lagrangian of :mod:`qkdbench.exact.dual` leaves the fixed charges
out, so on instances where shared links and nodes carry most of the cost it is
far below the optimum. This module gives the bound the fixed-charge network
design literature uses: the *strong linking relaxation*.

The relaxation
--------------
Keep every row of the exact model (:mod:`qkdbench.exact.formulation`) and make
the link and node binaries continuous in ``[0, 1]``. Then dualise the capacity
rows (prices ``lam_qkd[a], lam_km[a] >= 0``), the provider capacity rows
(``rho[A] >= 0``) and the strong linking rows

    x_{2l,f} + x_{2l+1,f} <= u_l      (request f uses either arc of link l)
    sum_{a into n} x_{a,f} <= v_n      (request f passes node n)

with prices ``mu[f, l] >= 0`` and ``nu[f, n] >= 0``. What is left separates by
request and by link and node:

    L = sum_f  min over (target t, simple path p to t)
               [ sum_{a in p} (w_fa(lam) + mu[f, link(a)] + nu[f, head(a)])
                 + service(t) + rho(provider of t) ]
      + sum_l min(0, F_l - sum_f mu[f, l]) + sum_n min(0, G_n - sum_f nu[f, n])
      - lam . W - rho . k + (charges of the nodes every plan touches),

with ``w_fa`` the priced newsvendor weight of :mod:`qkdbench.exact.dual`.
Every ``L`` at non-negative prices is a lower bound on the optimum (weak
duality); the best over the prices equals the linear relaxation of the strong
model, which is what makes the bound strong: a request that uses a link is
charged its share of the link's opening.

Node charges: a simple path enters every node it passes exactly once, except
its source, so ``nu`` is added to the arcs into the node. A request's source
and single target are touched by every plan, so their charges are a constant
and get no price.

How it is maximised
-------------------
Column generation over paths (Dantzig-Wolfe): a restricted master LP over the
known (path, reservation) columns of each request, solved by HiGHS, gives
prices; pricing is one shortest path per request under the priced weights
(:func:`~qkdbench.planning.shortest_paths.shortest_path_trees`), which both
finds the columns with negative reduced cost and evaluates ``L`` at the
master's prices. The reported bound is always that evaluation, never the LP's
own value, so it is valid whatever the LP's tolerances. Linking rows enter the
master lazily, when a column of the request first uses the link or node.
Capacity rows carry a penalised slack, so the master is feasible from the
first column; a warm plan's routes are added as columns when given.

Column generation was chosen over a subgradient or bundle method on the same
dual because the dual has one price per (request, charged link), 88,000 on
germany50 with 1,000 requests, where subgradient steps converge slowly; the
master's simplex prices are exact for the columns known, and the bound it
certifies at each iteration is the same Lagrangian function.

The method lives in three modules: :mod:`qkdbench.exact.linking_dual` (the
Lagrangian function, pricing, reduced-cost pruning), :mod:`qkdbench.exact.linking_master`
(the restricted master LP) and :mod:`qkdbench.exact.linking_cg` (the column
generation, :func:`best_bound`). This module re-exports their public names.
"""

from __future__ import annotations

from .linking_cg import BestBound, LinkingBoundResult, best_bound, linking_bound
from .linking_dual import BOUND_SOURCE, LinkingPrices, linking_keep, linking_value

__all__ = [
    "BOUND_SOURCE",
    "BestBound",
    "LinkingBoundResult",
    "LinkingPrices",
    "best_bound",
    "linking_bound",
    "linking_keep",
    "linking_value",
]
