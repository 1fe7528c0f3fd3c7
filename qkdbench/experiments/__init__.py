"""Experiments: comparisons, the paper's figures and sweeps, all scored by the one evaluator.

Submodules (imported on use, so that the command line starts fast), one topic each:

``runs``
    One planner run scored by the evaluator (the record every experiment stores).
``gaps``
    What the runs of one instance are measured against, and each run's gap.
``values``
    Values of a run record read back: a number or ``nan``, a boolean.
``provenance``
    Where a result comes from: instance content hash, package versions.
``output``
    The directories the experiments write into.
``aggregate``
    Scores of several runs on several tasks: IQM, probability of improvement,
    performance profiles, the stratified bootstrap.
``protocol``
    Several runs of an agent against other planners: the gap to the best known,
    its IQM with intervals, the probability of improvement over CO-QBN.
``compare``
    Every planner on one instance: a table (``qkdbench compare``).
``config``
    Defaults of the figures (light: the command line builds its help from them).
``panels``
    The data of each figure panel (forced reservations, rates, requests, anytime).
``plotting``
    Drawing each panel with matplotlib.
``figures``
    The table of panels and the driver that makes them (``qkdbench figure``).
``sweep_spec``
    The sweep specification (TOML), read and validated.
``store``
    The sweep's results file: append, resume, read, summarize.
``sweep``
    Grids of instances and planners on Dask or in-process, resumable (``qkdbench sweep``).
"""

__all__: list[str] = []
