"""Aggregate scores of several runs on several tasks, with honest intervals.

The protocol of Agarwal et al., "Deep reinforcement learning at the edge of the
statistical precipice" (NeurIPS 2021), for a score matrix of ``runs x tasks``
(a run: one training seed of an agent; a task: one held-out instance):

* :func:`iqm` -- the interquartile mean, the mean of the middle half of all the
  scores (robust to a few outlying runs, less noisy than the median);
* :func:`probability_of_improvement` -- ``P(X > Y)``: the chance that a run of
  ``X`` scores above a run of ``Y`` on a task (the Mann-Whitney U statistic over
  the ``n x m`` pairs, ties counting half), averaged over the tasks;
* :func:`performance_profile` -- the fraction of the scores above each threshold;
* :func:`stratified_bootstrap` -- the percentile-bootstrap interval of any of
  these, resampling the runs within each task (the tasks are fixed: the interval
  says how much the result depends on the training seeds).

Every statistic takes matrices of shape ``(..., runs, tasks)`` and reduces the last
two axes, so the bootstrap evaluates all its resamples in one call. The definitions
are those of the ``rliable`` package (its ``aggregate_iqm``,
``probability_of_improvement``, ``StratifiedBootstrap`` and ``create_performance_profile``),
written here with NumPy alone so that the package does not pull in ``rliable``'s
dependencies (``arch``, ``statsmodels``, ``seaborn``, ``absl-py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..exceptions import InputError
from ..utils.random import Seed, check_random_state, derive_rng

__all__ = [
    "score_matrix",
    "iqm",
    "probability_of_improvement",
    "performance_profile",
    "stratified_bootstrap",
]


def score_matrix(scores: ArrayLike, place: str = "scores") -> NDArray[np.float64]:
    """``scores`` as a finite ``runs x tasks`` matrix of floats.

    Parameters
    ----------
    scores : array_like
        A matrix (a run per row, a task per column), or a sequence of numbers
        (one run of several tasks).
    place : str, optional
        What the scores are, for the error message.

    Returns
    -------
    ndarray of float, shape (runs, tasks)

    Raises
    ------
    InputError
        If the scores are empty, of more than two dimensions, or not all finite.

    Examples
    --------
    >>> score_matrix([1, 2, 3]).shape
    (1, 3)
    """
    m = np.asarray(scores, dtype=float)
    if m.ndim == 1:
        m = m[None, :]
    if m.ndim != 2 or m.size == 0:
        raise InputError(f"expected a non-empty runs x tasks matrix, got shape {m.shape}", place)
    if not np.isfinite(m).all():
        raise InputError("scores must be finite numbers", place)
    return m


def _reduce(value: NDArray[Any]) -> Any:
    """A float for a 0-d result, the array otherwise."""
    return float(value) if np.ndim(value) == 0 else value


def iqm(scores: ArrayLike) -> Any:
    """The interquartile mean of the scores of all runs and tasks together.

    The 25% trimmed mean of :func:`scipy.stats.trim_mean` (``rliable``'s
    ``aggregate_iqm``): of the ``n`` scores sorted, ``floor(n / 4)`` are cut from
    each end and the rest are averaged with equal weights. When 4 does not divide
    ``n`` this keeps slightly more than the middle half (no fractional weights);
    with fewer than 4 scores nothing is cut (the plain mean).

    Parameters
    ----------
    scores : array_like, shape (..., runs, tasks)
        A score matrix, or a stack of them.

    Returns
    -------
    float or ndarray
        One value per matrix.

    Examples
    --------
    >>> iqm([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 100.0]])  # the mean of 3, 4, 5, 6
    4.5
    >>> iqm([1.0, 2.0, 3.0, 4.0, 100.0])  # n = 5: one cut from each end
    3.0
    """
    a = np.asarray(scores, dtype=float)
    if a.ndim < 2:
        a = score_matrix(a)
    flat = np.sort(a.reshape(*a.shape[:-2], -1), axis=-1)
    n = flat.shape[-1]
    cut = int(0.25 * n)
    return _reduce(flat[..., cut : n - cut].mean(axis=-1))


def probability_of_improvement(scores_x: ArrayLike, scores_y: ArrayLike) -> Any:
    """``P(X > Y)``: how likely a run of ``X`` scores above a run of ``Y``, over tasks.

    On each task ``t`` it is the Mann-Whitney U statistic of ``X``'s runs against
    ``Y``'s over the number of pairs, ``(#{x_i > y_j} + #{x_i = y_j} / 2) / (n m)``;
    the result is its mean over the tasks (``rliable``'s
    ``probability_of_improvement``). ``0.5`` means neither is better; for scores
    where lower is better (costs, gaps), pass their negatives.

    Parameters
    ----------
    scores_x : array_like, shape (..., n, tasks)
        ``X``'s runs.
    scores_y : array_like, shape (..., m, tasks)
        ``Y``'s runs, on the same tasks in the same order.

    Returns
    -------
    float or ndarray
        In ``[0, 1]``; one value per pair of matrices.

    Raises
    ------
    InputError
        If the two have different numbers of tasks.

    Examples
    --------
    >>> probability_of_improvement([[3.0, 1.0], [1.0, 1.0]], [[2.0, 1.0]])
    0.5
    """
    x = np.asarray(scores_x, dtype=float)
    y = np.asarray(scores_y, dtype=float)
    x = score_matrix(x, "scores of X") if x.ndim < 2 else x
    y = score_matrix(y, "scores of Y") if y.ndim < 2 else y
    if x.shape[-1] != y.shape[-1]:
        raise InputError(
            f"X has {x.shape[-1]} tasks and Y {y.shape[-1]}: both need the same tasks",
            "probability of improvement",
        )
    xs, ys = x[..., :, None, :], y[..., None, :, :]  # (..., n, m, tasks)
    per_task = (xs > ys).mean(axis=(-3, -2)) + 0.5 * (xs == ys).mean(axis=(-3, -2))
    return _reduce(per_task.mean(axis=-1))


def performance_profile(scores: ArrayLike, thresholds: ArrayLike) -> Any:
    """The fraction of the scores (all runs and tasks) above each threshold.

    ``rliable``'s run-score distribution (``create_performance_profile``):
    ``P(score > tau)`` for each ``tau``. For scores where lower is better, one
    minus it is ``P(score <= tau)``.

    Parameters
    ----------
    scores : array_like, shape (..., runs, tasks)
    thresholds : array_like, shape (k,)

    Returns
    -------
    ndarray, shape (..., k)

    Examples
    --------
    >>> performance_profile([[0.0, 1.0], [2.0, 3.0]], [0.5, 2.0]).tolist()
    [0.75, 0.25]
    """
    a = np.asarray(scores, dtype=float)
    if a.ndim < 2:
        a = score_matrix(a)
    taus = np.atleast_1d(np.asarray(thresholds, dtype=float))
    flat = a.reshape(*a.shape[:-2], -1)
    return (flat[..., :, None] > taus).mean(axis=-2)


def stratified_bootstrap(
    statistic: Callable[..., Any],
    *matrices: ArrayLike,
    level: float = 0.95,
    resamples: int = 2000,
    seed: Seed | Sequence[int] = 0,
) -> tuple[Any, Any, Any]:
    """A statistic of score matrices and its stratified percentile-bootstrap interval.

    Each resample draws, within each task (column) of each matrix, as many runs
    (rows) as it has, with replacement, the matrices independently
    (``rliable``'s ``StratifiedBootstrap`` without task resampling); the interval
    is the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the statistic
    over the resamples (the percentile method).

    The tasks are fixed, so the interval measures the runs' (the training seeds')
    variability only. With one run per task every resample is the data itself:
    the interval degenerates to the point (``low == high == point``), which says
    that a single run carries no information on the spread, not that there is none.

    Parameters
    ----------
    statistic : callable
        ``statistic(*batches)``: takes arrays of shape ``(resamples, runs, tasks)``,
        one per matrix, and returns one value (or one row of values) per resample,
        as :func:`iqm`, :func:`probability_of_improvement` and
        :func:`performance_profile` do.
    *matrices : array_like
        Score matrices (``runs x tasks``); their run counts may differ.
    level : float
        Coverage of the interval, in ``(0, 1)``.
    resamples : int
        Bootstrap resamples (at least 1).
    seed : int or sequence of int
        A seed of :func:`~qkdbench.utils.random.check_random_state`, or ``[s, *keys]``
        for :func:`~qkdbench.utils.random.derive_rng` ``(s, *keys)``.

    Returns
    -------
    (point, low, high)
        The statistic of the matrices themselves and the interval's ends (floats,
        or arrays for a statistic with several values).

    Raises
    ------
    InputError
        If a matrix is not a finite non-empty matrix, ``level`` is outside ``(0, 1)``
        or ``resamples`` is below 1.

    Examples
    --------
    >>> point, low, high = stratified_bootstrap(iqm, [[1.0, 5.0], [2.0, 6.0], [3.0, 7.0]])
    >>> point, bool(low < point < high)
    (4.0, True)
    >>> stratified_bootstrap(iqm, [[1.0, 5.0, 9.0]])  # one run per task
    (5.0, 5.0, 5.0)
    """
    if not 0.0 < level < 1.0:
        raise InputError(f"level must lie in (0, 1), got {level}", "bootstrap")
    if int(resamples) < 1:
        raise InputError(f"resamples must be at least 1, got {resamples}", "bootstrap")
    mats = [score_matrix(m, f"score matrix {i + 1}") for i, m in enumerate(matrices)]
    rng = derive_rng(*seed) if isinstance(seed, Sequence) else check_random_state(seed)
    batches = []
    for m in mats:
        runs, tasks = m.shape
        rows = rng.integers(0, runs, size=(int(resamples), runs, tasks))
        batches.append(m[rows, np.arange(tasks)])
    point = statistic(*(m[None] for m in mats))
    values = np.asarray(statistic(*batches), dtype=float)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail], axis=0)
    point = np.asarray(point, dtype=float)[0]
    return _reduce(point), _reduce(low), _reduce(high)
