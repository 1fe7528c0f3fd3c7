"""The joint-scenario generator (Gaussian copula) and `qkdbench instance --scenarios`.

Truth: counts of the scenario columns (the sample marginal), the copula's definition
(comonotone at rho = 1: one quantile level per scenario), and, for the correlations, the
sampling distribution of a Pearson correlation (standard error about (1 - r^2) /
sqrt(N)) around its exact value, computed from bivariate normal probabilities. Every
sample has a fixed seed, so a bound several standard errors wide is deterministic, and
would fail for an honest sampler with a probability below 1e-4.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

from qkdbench.exceptions import InputError
from qkdbench.io import read_instance, write_instance
from qkdbench.model import Demand, Instance, Link, Request
from qkdbench.topologies import demand_shape, joint_scenarios, make_instance
from qkdbench.topologies.scenarios import GENERATOR, quantiles
from tests.fixture_types import OneLineError, RunCli


def _columns(inst: Instance) -> np.ndarray:
    assert inst.scenarios is not None
    return inst.scenarios.rate_matrix(tuple(r.id for r in inst.requests))


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(x, y)[0, 1])


def _exact_correlation(k: int, rho: float) -> float:
    """Pearson correlation of two uniform {0..k} key rates of a Gaussian copula with rho."""
    cuts = norm.ppf(np.arange(1, k + 1) / (k + 1))  # latent thresholds between the values
    edges = np.concatenate(([-np.inf], cuts, [np.inf]))
    cdf = multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, rho], [rho, 1.0]])

    def box(i: int, j: int) -> float:  # Pr(value i, value j)
        def c(a: float, b: float) -> float:
            if a == -np.inf or b == -np.inf:
                return 0.0
            return float(cdf.cdf([min(a, 40.0), min(b, 40.0)]))

        lo_i, hi_i, lo_j, hi_j = edges[i], edges[i + 1], edges[j], edges[j + 1]
        return c(hi_i, hi_j) - c(lo_i, hi_j) - c(hi_i, lo_j) + c(lo_i, lo_j)

    values = np.arange(k + 1, dtype=float)
    mean = values.mean()
    var = float(((values - mean) ** 2).mean())
    cov = sum(
        box(i, j) * (values[i] - mean) * (values[j] - mean)
        for i in range(k + 1)
        for j in range(k + 1)
    )
    return cov / var


# --------------------------------------------------------------------------- quantiles


def test_quantiles_are_the_smallest_value_whose_cdf_reaches_the_level() -> None:
    d = Demand((2.0, 0.0, 1.0, 1.0), (0.25, 0.25, 0.25, 0.25))  # unsorted, a repeat
    u = np.array([0.0, 0.25, 0.2500001, 0.75, 0.76, 1.0])
    assert quantiles(d, u).tolist() == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]


# --------------------------------------------------------------------------- the sample


def test_same_seed_same_scenarios_and_the_seed_matters() -> None:
    base = make_instance("nsfnet", 6, 5, seed=3)
    a = joint_scenarios(base, 12, correlation=0.4, seed=7)
    again = joint_scenarios(base, 12, correlation=0.4, seed=7)
    assert a == again
    assert a.scenarios is not None
    assert again.scenarios is not None
    assert a.scenarios.to_dict() == again.scenarios.to_dict()
    b = joint_scenarios(base, 12, correlation=0.4, seed=8)
    assert b.scenarios is not None
    assert a.scenarios.key_rates != b.scenarios.key_rates
    assert a.scenarios.recipe == {
        "generator": GENERATOR,
        "scenarios": 12,
        "correlation": 0.4,
        "seed": 7,
    }
    assert a.scenarios.probs == tuple([1 / 12] * 12)


def test_each_demand_is_the_sample_marginal_of_its_column() -> None:
    base = make_instance("usnet", 8, 10, seed=1)
    inst = joint_scenarios(base, 37, correlation=0.6, seed=2)
    assert inst.scenarios is not None
    for req, old in zip(inst.requests, base.requests, strict=True):
        counts = Counter(inst.scenarios.key_rates[req.id])
        assert dict(zip(req.demand.values, req.demand.probs, strict=True)) == pytest.approx(
            {v: c / 37 for v, c in counts.items()}
        )
        assert set(counts) <= set(old.demand.values)  # drawn from the request's support
        assert (req.source, req.target) == (old.source, old.target)


def test_correlation_one_puts_every_request_at_the_same_quantile() -> None:
    """Comonotone: one level u per scenario, so the CDF intervals of the drawn values meet."""
    demands = (
        Demand.uniform(10),
        demand_shape("heavy", 10),
        demand_shape("binomial", 6),
        Demand((0.0, 5.0), (0.5, 0.5)),
    )
    reqs = tuple(Request(f"f{i}", 1, 2 + i, d) for i, d in enumerate(demands))
    base = Instance((1, 2, 3, 4, 5), tuple(Link(1, v, 100.0) for v in (2, 3, 4, 5)), reqs)
    inst = joint_scenarios(base, 200, correlation=1.0, seed=4)
    rates = _columns(inst)
    for s in range(200):
        lo, hi = 0.0, 1.0  # the levels u that give every drawn value
        for f, d in enumerate(demands):
            below = sum(p for v, p in zip(d.values, d.probs, strict=True) if v < rates[s, f])
            upto = sum(p for v, p in zip(d.values, d.probs, strict=True) if v <= rates[s, f])
            lo, hi = max(lo, below), min(hi, upto)
        assert lo < hi + 1e-12, s
    same = joint_scenarios(make_instance("nsfnet", 9, 10, seed=2), 50, correlation=1.0, seed=1)
    cols = _columns(same)
    assert (cols == cols[:, :1]).all()  # equal marginals: equal key rates in a scenario


def test_correlation_zero_gives_uncorrelated_key_rates() -> None:
    """Every pair within 5 standard errors (1/sqrt(N)) of 0."""
    n = 4000
    inst = joint_scenarios(make_instance("nsfnet", 8, 10, seed=1), n, correlation=0.0, seed=11)
    rates = _columns(inst)
    worst = max(abs(_pearson(rates[:, i], rates[:, j])) for i in range(8) for j in range(i + 1, 8))
    assert worst < 5 / math.sqrt(n)


def test_correlation_half_matches_the_copulas_exact_correlation() -> None:
    n, rho = 4000, 0.5
    truth = _exact_correlation(10, rho)
    assert 0.4 < truth < 0.5  # (6 / pi) asin(rho / 2) = 0.48 for continuous marginals
    inst = joint_scenarios(make_instance("nsfnet", 6, 10, seed=1), n, correlation=rho, seed=5)
    rates = _columns(inst)
    se = (1 - truth**2) / math.sqrt(n)
    for i in range(6):
        for j in range(i + 1, 6):
            assert abs(_pearson(rates[:, i], rates[:, j]) - truth) < 5 * se


def test_link_states_are_sampled_from_their_marginals_apart_from_the_demands() -> None:
    base = make_instance("usnet-ntn", 6, 10, seed=1)
    n = 3000
    inst = joint_scenarios(base, n, correlation=1.0, seed=3, link_correlation=1.0)
    sc = inst.scenarios
    assert sc is not None
    random_links = [k for k, ln in enumerate(base.links) if isinstance(ln.key_rate_kbps, Demand)]
    assert random_links
    assert sorted(sc.link_key_rates) == random_links
    assert sc.recipe["link_correlation"] == 1.0
    demand = _columns(inst)[:, 0]
    levels = []
    for k in random_links:
        col = np.array(sc.link_key_rates[k])
        counts = Counter(col.tolist())
        rate = inst.links[k].key_rate_kbps
        assert isinstance(rate, Demand)
        assert dict(zip(rate.values, rate.probs, strict=True)) == pytest.approx(
            {v: c / n for v, c in counts.items()}
        )
        states = sorted(base.links[k].key_rate_states(1.0)[0])
        levels.append([states.index(x) for x in col.tolist()])
        assert abs(_pearson(col, demand)) < 5 / math.sqrt(n)  # independent of the demands
    # the links' weather has the same probabilities: at rho_L = 1 one state index a scenario
    assert all(row == levels[0] for row in levels)
    assert "coupled" in inst.features  # listed link states couple the second stage


def test_the_file_keeps_the_scenarios_and_the_recipe(tmp_path: Path) -> None:
    inst = joint_scenarios(make_instance("nsfnet", 4, 3, seed=1), 6, correlation=0.3, seed=1)
    path = tmp_path / "i.json"
    write_instance(inst, path)
    back = read_instance(path)
    assert back == inst
    assert back.scenarios is not None
    assert inst.scenarios is not None
    assert back.scenarios.recipe == inst.scenarios.recipe
    assert not back.is_coupled  # no cap, no link state: it scores as its marginals


@pytest.mark.parametrize(
    ("kwargs", "place"),
    [
        ({"n_scenarios": 0}, "scenarios"),
        ({"n_scenarios": True}, "scenarios"),
        ({"n_scenarios": 2.5}, "scenarios"),
        ({"correlation": -0.1}, "correlation"),
        ({"correlation": 1.01}, "correlation"),
        ({"correlation": float("nan")}, "correlation"),
        ({"link_correlation": 2.0}, "link_correlation"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_values_are_refused_naming_the_parameter(kwargs: dict, place: str) -> None:
    base = make_instance("nsfnet", 3, 2, seed=1)
    args = {"n_scenarios": 4, "correlation": 0.5, "seed": 1, **kwargs}
    with pytest.raises(InputError) as exc:
        joint_scenarios(base, args.pop("n_scenarios"), **args)
    assert exc.value.place == place


# --------------------------------------------------------------------------- command line


def test_cli_instance_with_scenarios_and_caps(tmp_path: Path, run_cli: RunCli) -> None:
    scenarios = ["instance", "--topology", "nsfnet", "--requests", "5", "--max-rate", "4"]
    scenarios += ["--scenarios", "20", "--correlation", "0.7"]
    args = [*scenarios, "--on-demand-cap", "0.8", "--shortfall-factor", "5"]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    run_cli(*args, "-o", a, check=True)
    run_cli(*args, "-o", b, check=True)
    assert a.read_bytes() == b.read_bytes()  # same seed, same file
    data = json.loads(a.read_text())
    assert data["format"] == "qkdbench-instance/2"
    assert "demand" not in data["requests"][0]
    assert data["scenarios"]["recipe"] == {
        "generator": "gaussian-copula",
        "scenarios": 20,
        "correlation": 0.7,
        "seed": 1,
        "on_demand_cap": 0.8,
        "shortfall_factor": 5.0,
    }
    inst = read_instance(a)
    assert inst.is_coupled
    assert inst.params.shortfall_factor == 5.0
    from qkdbench.planning.on_demand import scenario_instance

    direct = scenario_instance(
        make_instance("nsfnet", 5, 4, seed=1),
        20,
        correlation=0.7,
        seed=1,
        on_demand_cap=0.8,
        shortfall_factor=5.0,
    )
    assert inst == direct
    plain = tmp_path / "p.json"  # no cap: scenarios only, unlimited on demand
    run_cli(*scenarios, "-o", plain, check=True)
    only = read_instance(plain)
    assert only.scenarios is not None
    assert not only.has_on_demand_caps


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--scenarios", "0"], "--scenarios: must be >= 1"),
        (["--scenarios", "5", "--correlation", "1.5"], "--correlation: must lie in [0, 1]"),
        (["--scenarios", "5", "--correlation", "-0.1"], "--correlation: must lie in [0, 1]"),
        (["--scenarios", "5", "--on-demand-cap", "-1"], "--on-demand-cap: must be non-negative"),
        (["--scenarios", "5", "--link-correlation", "2"], "--link-correlation: must lie"),
        (["--on-demand-cap", "1"], "--on-demand-cap needs --scenarios"),
        (["--correlation", "0.5"], "--correlation needs --scenarios"),
        (["--scenarios", "5", "--shortfall-factor", "2"], "--shortfall-factor needs --on-demand"),
        (
            ["--scenarios", "5", "--on-demand-cap", "1", "--shortfall-factor", "0.5"],
            "--shortfall-factor: must be at least 1",
        ),
    ],
)
def test_cli_bad_scenario_options_are_one_line_errors(
    extra: list[str],
    needle: str,
    tmp_path: Path,
    run_cli: RunCli,
    one_line_error: OneLineError,
) -> None:
    out = tmp_path / "x.json"
    res = run_cli("instance", "--topology", "nsfnet", "--requests", "3", *extra, "-o", out)
    one_line_error(res, needle)
    assert not out.exists()
