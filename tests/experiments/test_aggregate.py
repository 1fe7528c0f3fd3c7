"""IQM, probability of improvement and the stratified bootstrap, against independent truth."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from qkdbench.exceptions import InputError
from qkdbench.experiments.aggregate import (
    iqm,
    performance_profile,
    probability_of_improvement,
    score_matrix,
    stratified_bootstrap,
)

# --------------------------------------------------------------------------- IQM


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([[1, 2, 3, 4], [5, 6, 7, 8]], (3 + 4 + 5 + 6) / 4),  # n = 8: two cut each end
        ([8, 1, 100, 2, 3], (2 + 3 + 8) / 3),  # n = 5: floor(5 / 4) = 1 each end
        ([[10, 1, 2], [3, -50, 4]], (1 + 2 + 3 + 4) / 4),  # n = 6: one each end
        ([7, 1, 4], 4.0),  # n = 3: nothing cut, the plain mean
        ([5], 5.0),
        # n = 9: floor(9 / 4) = 2 each end, the 5 in the middle equally weighted (the
        # fractionally weighted IQM would give (0.75 * 3 + 4 + 5 + 6 + 0.75 * 7) / 4.5)
        ([[1, 2, 3], [4, 5, 6], [7, 8, 90]], (3 + 4 + 5 + 6 + 7) / 5),
    ],
)
def test_iqm_is_the_mean_after_cutting_a_quarter_from_each_end(
    scores: list[float] | list[list[float]], expected: float
) -> None:
    assert iqm(scores) == pytest.approx(expected)


def test_iqm_is_scipys_quarter_trimmed_mean_of_all_scores() -> None:
    rng = np.random.default_rng(11)
    for runs, tasks in itertools.product([1, 2, 3, 5, 7], [1, 3, 4, 6]):
        m = rng.standard_cauchy(size=(runs, tasks))
        assert iqm(m) == pytest.approx(stats.trim_mean(m, 0.25, axis=None), rel=1e-12)


def test_iqm_of_a_stack_is_the_iqm_of_each_matrix() -> None:
    stack = np.random.default_rng(3).normal(size=(4, 5, 3))
    assert np.allclose(iqm(stack), [iqm(m) for m in stack])


# --------------------------------------------------------------------------- P(X > Y)


def _brute_force_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """Plain Python: every pair of runs on every task, ties counting half."""
    per_task = []
    for t in range(x.shape[1]):
        wins = 0.0
        for a in x[:, t]:
            for b in y[:, t]:
                wins += 1.0 if a > b else 0.5 if a == b else 0.0
        per_task.append(wins / (x.shape[0] * y.shape[0]))
    return sum(per_task) / len(per_task)


@pytest.mark.parametrize(("n", "m", "tasks"), [(1, 1, 1), (3, 1, 4), (5, 4, 3), (2, 6, 7)])
def test_probability_of_improvement_counts_pairs(n: int, m: int, tasks: int) -> None:
    rng = np.random.default_rng(n * 100 + m * 10 + tasks)
    x = rng.integers(0, 4, size=(n, tasks)).astype(float)  # small integers: many ties
    y = rng.integers(0, 4, size=(m, tasks)).astype(float)
    p = probability_of_improvement(x, y)
    assert p == pytest.approx(_brute_force_improvement(x, y))
    assert p + probability_of_improvement(y, x) == pytest.approx(1.0)
    mwu = [
        stats.mannwhitneyu(x[:, t], y[:, t], alternative="greater").statistic / (n * m)
        if not np.array_equal(x[:, t], y[:, t]) or n > 1
        else 0.5
        for t in range(tasks)
    ]
    assert p == pytest.approx(float(np.mean(mwu)))


def test_probability_of_improvement_by_hand() -> None:
    x = [[3.0, 1.0], [1.0, 1.0]]  # task 1: 3 > 2, 1 < 2; task 2: ties
    assert probability_of_improvement(x, [[2.0, 1.0]]) == 0.5
    assert probability_of_improvement([[2.0, 9.0]], [[1.0, 0.0]]) == 1.0
    with pytest.raises(InputError, match="same tasks"):
        probability_of_improvement([[1.0, 2.0]], [[1.0]])


# --------------------------------------------------------------------------- profile


def test_performance_profile_is_the_fraction_above_each_threshold() -> None:
    m = np.array([[0.0, 1.0, 5.0], [2.0, 3.0, 4.0]])
    taus = [-1.0, 0.0, 2.5, 5.0]
    expected = [sum(v > tau for v in m.ravel()) / m.size for tau in taus]
    assert performance_profile(m, taus).tolist() == expected


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_covers_the_true_iqm_about_95_percent_of_the_time() -> None:
    """5 tasks, normal runs around means symmetric about 3: the mixture's IQM is 3."""
    rng = np.random.default_rng(2021)
    centres = 3.0 + np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    sims, hits = 200, 0
    for s in range(sims):
        scores = rng.normal(centres, 1.0, size=(10, 5))
        _, lo, hi = stratified_bootstrap(iqm, scores, resamples=1000, seed=s)
        hits += lo <= 3.0 <= hi
    assert 0.88 <= hits / sims <= 0.99


def test_bootstrap_covers_the_true_probability_of_improvement() -> None:
    """X is Y shifted by d on every task: P(X > Y) = Phi(d / sqrt 2)."""
    rng = np.random.default_rng(7)
    d = 0.5
    truth = float(stats.norm.cdf(d / math.sqrt(2.0)))
    centres = np.array([0.0, 5.0, 10.0, 20.0])
    sims, hits = 150, 0
    for s in range(sims):
        x = rng.normal(centres + d, 1.0, size=(10, 4))
        y = rng.normal(centres, 1.0, size=(8, 4))
        point, lo, hi = stratified_bootstrap(
            probability_of_improvement, x, y, resamples=1000, seed=[s, 1]
        )
        assert lo <= point <= hi
        hits += lo <= truth <= hi
    assert 0.85 <= hits / sims <= 0.99


def test_bootstrap_is_seeded_and_resamples_within_tasks() -> None:
    scores = np.random.default_rng(1).normal(size=(6, 3))
    a = stratified_bootstrap(iqm, scores, seed=4)
    assert a == stratified_bootstrap(iqm, scores, seed=4)
    assert a != stratified_bootstrap(iqm, scores, seed=5)
    assert a[0] == iqm(scores)
    # a statistic that sees each task's column: resampling within tasks keeps each
    # task's values among its own, so every resampled column mean lies in its range
    seen: list[np.ndarray] = []

    def column_means(batch: np.ndarray) -> np.ndarray:
        seen.append(batch)
        return batch.mean(axis=(-2, -1))

    stratified_bootstrap(column_means, scores, resamples=50, seed=0)
    batch = seen[-1]
    assert batch.shape == (50, 6, 3)
    for t in range(3):
        assert set(batch[:, :, t].ravel()) <= set(scores[:, t])


def test_one_run_per_task_gives_a_zero_width_interval() -> None:
    one = [[0.5, 2.0, 7.0, 1.0]]
    assert stratified_bootstrap(iqm, one) == (iqm(one), iqm(one), iqm(one))
    p = probability_of_improvement(one, [[1.0, 1.0, 1.0, 1.0]])
    assert p == (1 + 1 + 0 + 0.5) / 4  # wins tasks 2 and 3, loses task 1, ties task 4
    assert stratified_bootstrap(probability_of_improvement, one, [[1.0] * 4]) == (p, p, p)


def test_a_profile_gets_an_interval_per_threshold() -> None:
    scores = np.arange(12.0).reshape(4, 3)
    point, lo, hi = stratified_bootstrap(
        lambda b: performance_profile(b, [1.5, 6.0]), scores, resamples=200
    )
    assert point.tolist() == [10 / 12, 5 / 12]
    assert (lo <= point).all()
    assert (point <= hi).all()


@pytest.mark.parametrize(
    ("args", "kwargs", "needle"),
    [
        (([[1.0, math.nan]],), {}, "finite"),
        (([],), {}, "non-empty"),
        (([[1.0]],), {"level": 1.0}, "level"),
        (([[1.0]],), {"resamples": 0}, "resamples"),
    ],
)
def test_bad_input_is_an_input_error(args: tuple, kwargs: dict, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        stratified_bootstrap(iqm, *args, **kwargs)


def test_a_sequence_is_one_run() -> None:
    assert score_matrix([1.0, 2.0]).tolist() == [[1.0, 2.0]]
    with pytest.raises(InputError, match="matrix"):
        score_matrix(np.zeros((2, 2, 2)))
