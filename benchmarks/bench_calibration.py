"""Calibration: a fixed pure-Python workload timed in the same session as the others.

Its time depends only on the machine, the interpreter and the load, never on
qkdbench, so ``time(benchmark) / time(calibration)`` from one session is a
machine-independent figure: ``benchmarks/baseline_ratios.json`` stores such ratios
and ``python benchmarks/baseline_ratios.py check`` compares against them
(``docs/benchmarks.md``, "A stored baseline that transfers"). Do not change the
workload: that would move every stored ratio.
"""

from __future__ import annotations

from pytest_benchmark.fixture import BenchmarkFixture

N_STEPS = 50_000


def calibration_loop(n: int = N_STEPS) -> float:
    """Dictionary look-ups, float arithmetic and branches: the plain-Python twin's mix.

    Parameters
    ----------
    n : int
        Number of steps.

    Returns
    -------
    float
        A checksum of the work (``n = 4`` gives ``-1.0 + 0.5 - 2.0 + 1.5``).

    Examples
    --------
    >>> calibration_loop(4)
    -1.0
    """
    table = {i: float(i + 1) for i in range(256)}
    acc = 0.0
    for i in range(n):
        x = table[i & 255]
        if i & 1:
            acc += 0.5 * x
        else:
            acc -= x
    return acc


def test_calibration_python_loop(benchmark: BenchmarkFixture) -> None:
    benchmark.group = "calibration"
    got = benchmark(calibration_loop)
    # closed form: pairs (2j, 2j+1) give -(2j % 256 + 1) + 0.5 * (2j % 256 + 2)
    assert got == sum(
        -((2 * j) % 256 + 1) + 0.5 * ((2 * j + 1) % 256 + 1) for j in range(N_STEPS // 2)
    )
    benchmark.extra_info["steps"] = N_STEPS
