"""Experiments: comparisons, the paper's figures and sweeps, all scored by the one evaluator.

Submodules (imported on use, so that the command line starts fast):

``runs``
    One planner run scored by the evaluator; gap references; instance hashes.
``compare``
    Every planner on one instance: a table (``qkdbench compare``).
``figures`` / ``config``
    The paper's Fig. 3 panels, quality against time, the GA's anytime curve
    (``qkdbench figure``).
``sweep``
    Grids of instances and planners on Dask, resumable (``qkdbench sweep``).
"""

__all__: list[str] = []
