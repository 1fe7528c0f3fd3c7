"""The instance library: named sets of reproducible instances with best-known solutions.

Submodules (imported on use):

``sets``
    Recipes, the set table, set files (package data) and the hash-checked loader.
``solutions``
    The solutions file of each set (best known cost, status, bound, plan) and the
    acceptance rules of ``qkdbench library solve``.
``bench``
    ``qkdbench bench``: planners over a set on the sweep machinery, scored against
    the best known values.
``report``
    ``qkdbench report``: performance profiles, gap distributions, win/tie/loss,
    HTML and Markdown.

This package sits above :mod:`qkdbench.experiments` (it runs sweeps) and below
the command line.
"""

__all__: list[str] = []
