"""Statistics of benchmark tracking: speed compared statistically, quality exactly.

Pure functions on pytest-benchmark results (the dictionaries ``--benchmark-json``
writes), used by ``benchmarks/compare_revisions.py`` and
``benchmarks/baseline_ratios.py`` and unit-tested on synthetic samples.

One *sample* of a benchmark is the median of one pytest-benchmark run of it (one
"round" of the interleaved comparison). Runs, not the iterations inside a run, are
the unit: the iterations of one run share a process, a memory layout and a load
level, so they are not independent draws, and pooling them would make a
process-level offset look significant.

A timing is flagged as a regression only when all three hold:

* the ratio of medians ``head / base`` is at least ``threshold`` (default 1.10);
* the lower end of its bootstrap confidence interval is above 1;
* the one-sided Mann-Whitney U test of "head slower than base" has ``p < alpha``.

Quality is compared exactly: every ``extra_info`` field of a benchmark that is not a
timing (costs, gaps, statuses, objective values, work counters) must be equal between
the revisions; any difference is a change in behaviour, never noise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "TIMING_KEY",
    "TimingVerdict",
    "QualityChange",
    "Comparison",
    "ratio_of_medians",
    "bootstrap_ratio_ci",
    "mann_whitney_p",
    "compare_timings",
    "quality_fields",
    "compare_quality",
    "collect_runs",
    "compare_runs",
    "format_report",
    "exit_status",
]

#: ``extra_info`` keys that hold timings (compared statistically, or not at all),
#: not behaviour: ``seconds``, ``*_s`` (``build_s``, ``solve_s``...) and shares of
#: time (``build_share``).
TIMING_KEY = re.compile(r"^(seconds|.*_s|.*_share)$")


@dataclass(frozen=True)
class TimingVerdict:
    """The speed of one benchmark, head against base.

    Attributes
    ----------
    name : str
        Benchmark node id (pytest-benchmark ``fullname``).
    base, head : tuple of float
        Samples (seconds; one per run).
    ratio : float
        ``median(head) / median(base)``.
    ci_low, ci_high : float
        Bootstrap confidence interval of ``ratio``.
    p_slower, p_faster : float
        One-sided Mann-Whitney U p-values of "head slower" and "head faster".
    verdict : str
        ``"regression"``, ``"improvement"``, ``"same"`` (no significant change above
        the threshold) or ``"too few runs"``.
    """

    name: str
    base: tuple[float, ...]
    head: tuple[float, ...]
    ratio: float
    ci_low: float
    ci_high: float
    p_slower: float
    p_faster: float
    verdict: str


@dataclass(frozen=True)
class QualityChange:
    """One recorded quality field that differs between base and head.

    Attributes
    ----------
    name : str
        Benchmark node id.
    field : str
        ``extra_info`` key, e.g. ``cost``.
    base, head : tuple
        The distinct values seen in the base and head runs (sorted by ``repr``).
    """

    name: str
    field: str
    base: tuple[Any, ...]
    head: tuple[Any, ...]


@dataclass(frozen=True)
class Comparison:
    """Everything a comparison found.

    Attributes
    ----------
    timings : tuple of TimingVerdict
        One per benchmark present in both revisions, by name.
    quality : tuple of QualityChange
        Quality fields that differ between the revisions.
    unstable : tuple of QualityChange
        Quality fields that differ between runs of one revision (``base`` and
        ``head`` of the entry hold that revision's values; the other is empty).
    only_base, only_head : tuple of str
        Benchmarks run in one revision only.
    threshold, alpha, level : float
        The settings the verdicts used.
    """

    timings: tuple[TimingVerdict, ...]
    quality: tuple[QualityChange, ...]
    unstable: tuple[QualityChange, ...]
    only_base: tuple[str, ...]
    only_head: tuple[str, ...]
    threshold: float
    alpha: float
    level: float


def _samples(x: Iterable[float], what: str) -> np.ndarray:
    a = np.asarray(list(x), dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{what}: no samples")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"{what}: timings must be finite and positive")
    return a


def ratio_of_medians(
    base: Sequence[float] | NDArray[np.float64], head: Sequence[float] | NDArray[np.float64]
) -> float:
    """``median(head) / median(base)``: above 1 means head is slower.

    Parameters
    ----------
    base, head : sequence of float
        Positive timings.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If a sample is empty or holds a non-positive or non-finite value.

    Examples
    --------
    >>> ratio_of_medians([1.0, 2.0, 3.0], [4.0, 4.0, 5.0])
    2.0
    """
    b = _samples(base, "base")
    h = _samples(head, "head")
    return float(np.median(h) / np.median(b))


def bootstrap_ratio_ci(
    base: Sequence[float] | NDArray[np.float64],
    head: Sequence[float] | NDArray[np.float64],
    level: float = 0.95,
    n_boot: int = 4000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the ratio of medians.

    Each bootstrap replicate resamples ``base`` and ``head`` independently with
    replacement and takes ``median(head*) / median(base*)``.

    Parameters
    ----------
    base, head : sequence of float
        Positive timings.
    level : float
        Confidence level, in (0, 1).
    n_boot : int
        Number of bootstrap replicates.
    seed : int
        Seed of the resampling (same seed, same interval).

    Returns
    -------
    (low, high) : tuple of float

    Raises
    ------
    ValueError
        On empty or invalid samples, ``level`` outside (0, 1) or ``n_boot < 1``.

    Examples
    --------
    >>> lo, hi = bootstrap_ratio_ci([1.0, 1.1, 0.9, 1.0], [2.0, 2.2, 1.8, 2.0])
    >>> 1.6 < lo <= 2.0 <= hi < 2.5
    True
    """
    b = _samples(base, "base")
    h = _samples(head, "head")
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level {level} is not in (0, 1)")
    if n_boot < 1:
        raise ValueError(f"n_boot {n_boot} < 1")
    rng = np.random.default_rng(seed)
    mb = np.median(b[rng.integers(0, b.size, (n_boot, b.size))], axis=1)
    mh = np.median(h[rng.integers(0, h.size, (n_boot, h.size))], axis=1)
    r = mh / mb
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(r, [tail, 100.0 - tail])
    return float(lo), float(hi)


def mann_whitney_p(
    base: Sequence[float] | NDArray[np.float64],
    head: Sequence[float] | NDArray[np.float64],
    alternative: str = "greater",
) -> float:
    """One-sided Mann-Whitney U p-value that ``head`` is slower (``"greater"``) or faster.

    Parameters
    ----------
    base, head : sequence of float
        Positive timings.
    alternative : {"greater", "less"}
        ``"greater"``: head tends to take longer than base; ``"less"``: shorter.

    Returns
    -------
    float
        The p-value (exact for small samples without ties, else the normal
        approximation, as ``scipy.stats.mannwhitneyu`` chooses).

    Raises
    ------
    ValueError
        On invalid samples or alternative.

    Examples
    --------
    >>> round(mann_whitney_p([1, 2, 3, 4], [5, 6, 7, 8]), 4)  # 1 / C(8, 4)
    0.0143
    """
    b = _samples(base, "base")
    h = _samples(head, "head")
    if alternative not in ("greater", "less"):
        raise ValueError(f"alternative {alternative!r} is not 'greater' or 'less'")
    from scipy.stats import mannwhitneyu  # a second to import: only when comparing

    return float(mannwhitneyu(h, b, alternative=alternative).pvalue)


def compare_timings(
    name: str,
    base: Sequence[float],
    head: Sequence[float],
    threshold: float = 1.10,
    alpha: float = 0.05,
    level: float = 0.95,
    seed: int = 0,
) -> TimingVerdict:
    """Verdict on one benchmark's speed.

    Parameters
    ----------
    name : str
        Benchmark node id.
    base, head : sequence of float
        Per-run timings of the two revisions.
    threshold : float
        Smallest slowdown (ratio of medians) worth a regression, > 1.
    alpha : float
        Significance level of the one-sided rank test.
    level : float
        Confidence level of the bootstrap interval.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    TimingVerdict
        ``regression`` when ``ratio >= threshold``, ``ci_low > 1`` and
        ``p_slower < alpha``; ``improvement`` symmetrically (``ratio <= 1 /
        threshold``, ``ci_high < 1``, ``p_faster < alpha``); ``too few runs`` when
        the rank test cannot reach ``alpha`` with these sample sizes; else ``same``.

    Raises
    ------
    ValueError
        On invalid samples or settings.

    Examples
    --------
    >>> v = compare_timings("k", [1.0, 1.02, 0.99, 1.01, 1.0], [2.0, 2.01, 1.98, 2.03, 2.0])
    >>> v.verdict, round(v.ratio, 2)
    ('regression', 2.0)
    """
    if not threshold > 1.0:
        raise ValueError(f"threshold {threshold} must be > 1")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha {alpha} is not in (0, 1)")
    b = _samples(base, f"{name} base")
    h = _samples(head, f"{name} head")
    ratio = ratio_of_medians(b, h)
    lo, hi = bootstrap_ratio_ci(b, h, level=level, seed=seed)
    p_slow = mann_whitney_p(b, h, "greater")
    p_fast = mann_whitney_p(b, h, "less")
    if 1.0 / math.comb(b.size + h.size, b.size) >= alpha:
        verdict = "too few runs"
    elif ratio >= threshold and lo > 1.0 and p_slow < alpha:
        verdict = "regression"
    elif ratio <= 1.0 / threshold and hi < 1.0 and p_fast < alpha:
        verdict = "improvement"
    else:
        verdict = "same"
    return TimingVerdict(
        name, tuple(map(float, b)), tuple(map(float, h)), ratio, lo, hi, p_slow, p_fast, verdict
    )


def quality_fields(extra_info: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a benchmark's ``extra_info`` that describe behaviour, not time.

    Parameters
    ----------
    extra_info : mapping
        A benchmark's ``extra_info``.

    Returns
    -------
    dict
        Every entry whose key does not match :data:`TIMING_KEY`.

    Examples
    --------
    >>> quality_fields({"cost": 5.0, "gap_pct": 0.1, "seconds": 0.2, "solve_s": 1.0,
    ...                 "build_share": 0.1, "pairs": 12})
    {'cost': 5.0, 'gap_pct': 0.1, 'pairs': 12}
    """
    return {k: v for k, v in extra_info.items() if not TIMING_KEY.match(k)}


def _distinct(values: Iterable[Any]) -> tuple[Any, ...]:
    out: dict[str, Any] = {}
    for v in values:
        out.setdefault(repr(v), v)
    return tuple(out[k] for k in sorted(out))


def compare_quality(
    name: str, base: Sequence[Mapping[str, Any]], head: Sequence[Mapping[str, Any]]
) -> tuple[list[QualityChange], list[QualityChange]]:
    """Exact comparison of the quality fields recorded by the runs of one benchmark.

    Parameters
    ----------
    name : str
        Benchmark node id.
    base, head : sequence of mapping
        The ``extra_info`` of each run of the benchmark in each revision.

    Returns
    -------
    changes : list of QualityChange
        Fields whose values differ between the revisions (a field present in one
        revision only counts, with ``()`` on the other side).
    unstable : list of QualityChange
        Fields that take several values within one revision.

    Examples
    --------
    >>> ch, un = compare_quality("q", [{"cost": 1.0, "seconds": 3.0}],
    ...                          [{"cost": 1.5, "seconds": 2.0}])
    >>> [(c.field, c.base, c.head) for c in ch], un
    ([('cost', (1.0,), (1.5,))], [])
    """
    qb = [quality_fields(e) for e in base]
    qh = [quality_fields(e) for e in head]
    keys = sorted({k for q in qb + qh for k in q})
    changes: list[QualityChange] = []
    unstable: list[QualityChange] = []
    for k in keys:
        vb = _distinct(q[k] for q in qb if k in q)
        vh = _distinct(q[k] for q in qh if k in q)
        if len(vb) > 1:
            unstable.append(QualityChange(name, k, vb, ()))
        if len(vh) > 1:
            unstable.append(QualityChange(name, k, (), vh))
        if [repr(v) for v in vb] != [repr(v) for v in vh]:
            changes.append(QualityChange(name, k, vb, vh))
    return changes, unstable


def collect_runs(
    runs: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, list[float]], dict[str, list[dict]]]:
    """Per-benchmark samples and ``extra_info`` from several ``--benchmark-json`` results.

    Parameters
    ----------
    runs : sequence of mapping
        Parsed ``--benchmark-json`` files, one per run of one revision.

    Returns
    -------
    medians : dict
        ``fullname`` -> the benchmark's median time in each run that has it.
    extra : dict
        ``fullname`` -> its ``extra_info`` in each run.

    Raises
    ------
    ValueError
        If a run is not a pytest-benchmark result (no ``benchmarks`` list, or an
        entry without ``fullname`` or ``stats.median``).
    """
    medians: dict[str, list[float]] = {}
    extra: dict[str, list[dict]] = {}
    for i, run in enumerate(runs):
        if not isinstance(run, Mapping) or not isinstance(run.get("benchmarks"), list):
            raise ValueError(f"run {i}: not a pytest-benchmark JSON result (no 'benchmarks' list)")
        for b in run["benchmarks"]:
            try:
                name = str(b["fullname"])
                med = float(b["stats"]["median"])
            except (KeyError, TypeError, ValueError):
                raise ValueError(
                    f"run {i}: a benchmark entry without 'fullname' or 'stats.median'"
                ) from None
            medians.setdefault(name, []).append(med)
            extra.setdefault(name, []).append(dict(b.get("extra_info") or {}))
    return medians, extra


def compare_runs(
    base_runs: Sequence[Mapping[str, Any]],
    head_runs: Sequence[Mapping[str, Any]],
    threshold: float = 1.10,
    alpha: float = 0.05,
    level: float = 0.95,
    seed: int = 0,
) -> Comparison:
    """Compare two revisions from their runs' ``--benchmark-json`` results.

    Parameters
    ----------
    base_runs, head_runs : sequence of mapping
        Parsed ``--benchmark-json`` files, one per run.
    threshold, alpha, level, seed
        As in :func:`compare_timings`.

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        On malformed results or settings.

    Examples
    --------
    >>> run = lambda t, c: {"benchmarks": [{"fullname": "b", "stats": {"median": t},
    ...                                      "extra_info": {"cost": c}}]}
    >>> cmp = compare_runs([run(1.0, 7), run(1.01, 7)], [run(1.0, 8), run(0.99, 8)])
    >>> [t.verdict for t in cmp.timings], [(q.base, q.head) for q in cmp.quality]
    (['too few runs'], [((7,), (8,))])
    """
    mb, eb = collect_runs(base_runs)
    mh, eh = collect_runs(head_runs)
    common = sorted(set(mb) & set(mh))
    timings = tuple(compare_timings(n, mb[n], mh[n], threshold, alpha, level, seed) for n in common)
    quality: list[QualityChange] = []
    unstable: list[QualityChange] = []
    for n in common:
        ch, un = compare_quality(n, eb[n], eh[n])
        quality += ch
        unstable += un
    return Comparison(
        timings,
        tuple(quality),
        tuple(unstable),
        tuple(sorted(set(mb) - set(mh))),
        tuple(sorted(set(mh) - set(mb))),
        threshold,
        alpha,
        level,
    )


def _fmt_time(s: float) -> str:
    for unit, f in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= f:
            return f"{s / f:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def _short(name: str) -> str:
    return name.split("::", 1)[-1]


def format_report(cmp: Comparison) -> str:
    """The comparison as a plain-text report (one line per benchmark).

    Parameters
    ----------
    cmp : Comparison

    Returns
    -------
    str
    """
    lines = [
        f"speed: ratio of medians head/base over runs, {100 * cmp.level:.0f}% bootstrap "
        f"CI, one-sided Mann-Whitney p; regression = ratio >= {cmp.threshold:.2f}, "
        f"CI above 1 and p < {cmp.alpha:g}"
    ]
    w = max([len(_short(t.name)) for t in cmp.timings] + [9])
    lines.append(
        f"{'benchmark':<{w}}  {'base':>9}  {'head':>9}  {'ratio':>6}  "
        f"{'CI':>13}  {'p slower':>8}  runs  verdict"
    )
    for t in cmp.timings:
        mark = {"regression": "REGRESSION", "improvement": "improvement"}.get(t.verdict, t.verdict)
        lines.append(
            f"{_short(t.name):<{w}}  {_fmt_time(float(np.median(t.base))):>9}  "
            f"{_fmt_time(float(np.median(t.head))):>9}  {t.ratio:6.3f}  "
            f"[{t.ci_low:5.3f}, {t.ci_high:5.3f}]  {t.p_slower:8.4f}  "
            f"{len(t.base)}/{len(t.head)}   {mark}"
        )
    if cmp.quality:
        lines.append("quality (compared exactly): BEHAVIOUR CHANGED")
        for q in cmp.quality:
            lines.append(
                f"  {_short(q.name)}  {q.field}: base {_vals(q.base)} -> head {_vals(q.head)}"
            )
    else:
        n = sum(1 for t in cmp.timings)
        lines.append(
            f"quality (compared exactly): no recorded cost, gap or status changed ({n} benchmarks)"
        )
    for q in cmp.unstable:
        side = "base" if q.base else "head"
        lines.append(
            f"  note: {_short(q.name)} {q.field} differs between runs of {side}: "
            f"{_vals(q.base or q.head)}"
        )
    for label, names in (("only in base", cmp.only_base), ("only in head", cmp.only_head)):
        for bench in names:
            lines.append(f"  {label}: {_short(bench)}")
    n_reg = sum(t.verdict == "regression" for t in cmp.timings)
    n_imp = sum(t.verdict == "improvement" for t in cmp.timings)
    lines.append(
        f"summary: {n_reg} regression(s), {n_imp} improvement(s), "
        f"{len(cmp.quality)} quality change(s) -> " + ("FAIL" if exit_status(cmp) else "OK")
    )
    return "\n".join(lines)


def _vals(vals: tuple[Any, ...]) -> str:
    if not vals:
        return "(absent)"
    return " | ".join(repr(v) for v in vals)


def exit_status(cmp: Comparison) -> int:
    """1 when a regression or a quality change was found, else 0.

    Parameters
    ----------
    cmp : Comparison

    Returns
    -------
    int
    """
    return int(any(t.verdict == "regression" for t in cmp.timings) or bool(cmp.quality))
