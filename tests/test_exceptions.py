"""Every public exception of the package derives from one base and keeps its built-in base."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

import qkdbench.exceptions as exc
from qkdbench.exceptions import (
    InputError,
    MissingExtraError,
    PanelSkipped,
    PlannerCheckError,
    QkdbenchError,
    SolverError,
    SolverUnavailableError,
    UsageError,
)

#: Each public exception and the built-in class ``except`` clauses have always caught it by.
BUILTIN_BASE: dict[type[QkdbenchError], type[Exception]] = {
    InputError: ValueError,
    UsageError: Exception,
    SolverError: RuntimeError,
    SolverUnavailableError: RuntimeError,
    PlannerCheckError: AssertionError,
    PanelSkipped: Exception,
    MissingExtraError: ImportError,
}
#: The exceptions and (exception, built-in base) pairs, by name, for parametrize.
BY_NAME = sorted(BUILTIN_BASE, key=lambda c: c.__name__)
PAIRS_BY_NAME = sorted(BUILTIN_BASE.items(), key=lambda kv: kv[0].__name__)


def _public_exceptions() -> set[type[BaseException]]:
    return {
        obj
        for name in exc.__all__
        if inspect.isclass(obj := getattr(exc, name)) and issubclass(obj, BaseException)
    }


def test_the_table_lists_every_public_exception() -> None:
    assert _public_exceptions() == set(BUILTIN_BASE) | {QkdbenchError}


def test_the_base_is_a_plain_exception() -> None:
    assert QkdbenchError.__bases__ == (Exception,)


@pytest.mark.parametrize("cls", BY_NAME)
def test_every_exception_derives_from_the_base(cls: type[QkdbenchError]) -> None:
    assert issubclass(cls, QkdbenchError)


@pytest.mark.parametrize(("cls", "builtin"), PAIRS_BY_NAME)
def test_every_exception_keeps_its_builtin_base(
    cls: type[QkdbenchError], builtin: type[Exception]
) -> None:
    assert issubclass(cls, builtin)


def _instance(cls: type[QkdbenchError]) -> QkdbenchError:
    if cls is InputError:
        return InputError("must be positive, got -3", "links[0].length_km", "net.json")
    if cls is PlannerCheckError:
        return PlannerCheckError("valid_plans", "demo", "no route")
    return cls("something went wrong")


@pytest.mark.parametrize(("cls", "builtin"), PAIRS_BY_NAME)
def test_a_raised_exception_is_caught_by_the_base_and_by_its_builtin(
    cls: type[QkdbenchError], builtin: type[Exception]
) -> None:
    with pytest.raises(QkdbenchError):
        raise _instance(cls)
    with pytest.raises(builtin):
        raise _instance(cls)


def test_input_error_text_and_location() -> None:
    err = InputError("must be positive, got -3", "links[0].length_km")
    assert str(err) == "links[0].length_km: must be positive, got -3"
    moved = err.located("net.json")
    assert isinstance(moved, InputError)
    assert str(moved) == "net.json: links[0].length_km: must be positive, got -3"


def test_solver_error_message_is_one_line() -> None:
    assert str(SolverError("highs\n  failed:\tstatus 7")) == "highs failed: status 7"


def test_planner_check_error_names_check_and_planner() -> None:
    err = PlannerCheckError("deterministic", "ga", "two runs differ")
    assert (err.check, err.planner, err.problem) == ("deterministic", "ga", "two runs differ")
    assert str(err) == "planner 'ga' fails check 'deterministic': two runs differ"


def test_old_homes_still_export_the_moved_classes() -> None:
    from qkdbench.experiments.figures import PanelSkipped as from_figures
    from qkdbench.rl.agents import MissingExtraError as from_agents
    from qkdbench.testing import PlannerCheckError as from_testing

    assert from_figures is PanelSkipped
    assert from_agents is MissingExtraError
    assert from_testing is PlannerCheckError


# --------------------------------------------------------------------------- the package


def _package_modules() -> list[Any]:
    import importlib
    import pkgutil

    import qkdbench

    names = ["qkdbench"] + [
        m.name
        for m in pkgutil.walk_packages(qkdbench.__path__, "qkdbench.")
        if "__main__" not in m.name
    ]
    return [importlib.import_module(n) for n in names]


def test_every_exception_class_of_the_package_is_in_exceptions_and_derives_from_the_base() -> None:
    found = {}
    for mod in _package_modules():
        for name, obj in vars(mod).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__.startswith("qkdbench")
            ):
                found[f"{mod.__name__}.{name}"] = obj
    assert len(found) >= len(BUILTIN_BASE) + 1  # the walk saw the package's classes
    assert {
        f: c.__module__ for f, c in found.items() if c.__module__ != "qkdbench.exceptions"
    } == {}
    assert [f for f, c in found.items() if not issubclass(c, QkdbenchError)] == []


def test_the_top_level_exports_every_public_exception() -> None:
    import qkdbench

    assert set(exc.__all__) <= set(qkdbench.__all__)
    for name in exc.__all__:
        assert getattr(qkdbench, name) is getattr(exc, name)


def test_an_input_error_is_still_a_value_error() -> None:
    assert InputError.__mro__[1:3] == (QkdbenchError, ValueError)
    with pytest.raises(ValueError, match="k must be at least 1"):
        _call_k_shortest_paths_with_k_zero()


def _tiny() -> Any:
    from qkdbench.testing import check_instances

    return next(i for i in check_instances() if i.n_requests > 0)


def _call_k_shortest_paths_with_k_zero() -> None:
    from qkdbench.planning.paths import k_shortest_paths

    inst = _tiny()
    r = inst.requests[0]
    k_shortest_paths(inst, r.source, r.target, 0)


def _negative_prices() -> None:
    import numpy as np

    from qkdbench.evaluation import arc_table
    from qkdbench.exact.lagrangian import lagrangian_value

    inst = _tiny()
    lagrangian_value(inst, -np.ones(arc_table(inst).n))


def _ga_population_one() -> None:
    from qkdbench.heuristics.ga import GeneticPlanner

    GeneticPlanner(population=1).plan(_tiny())


def _unknown_rl_level() -> None:
    from qkdbench.rl.core import check_levels

    check_levels(["mean", "bogus"])


def _empty_batch() -> None:
    from qkdbench.evaluation.encoding import stack_plans

    stack_plans([])


def _quantile_outside() -> None:
    from qkdbench.model import Demand

    Demand.point(1.0).quantile(1.5)


def _unknown_feature() -> None:
    from qkdbench.testing import feature_instance

    feature_instance("bogus")


def _no_scenarios() -> None:
    from qkdbench.evaluation.sampling import sample_joint_scenarios

    sample_joint_scenarios(_tiny(), 0, seed=1)


def _waxman_one_node() -> None:
    from qkdbench.topologies.generators import waxman_topology

    waxman_topology(1, seed=0)


def _t_quantile_bad_p() -> None:
    from qkdbench.evaluation.sp_measures import t_quantile

    t_quantile(1.5, 3)


@pytest.mark.parametrize(
    "call",
    [
        _call_k_shortest_paths_with_k_zero,
        _negative_prices,
        _ga_population_one,
        _unknown_rl_level,
        _empty_batch,
        _quantile_outside,
        _unknown_feature,
        _no_scenarios,
        _waxman_one_node,
        _t_quantile_bad_p,
    ],
    ids=lambda f: f.__name__.lstrip("_"),
)
def test_bad_arguments_raise_input_error(call: Callable[[], object]) -> None:
    with pytest.raises(InputError) as info:
        call()
    assert type(info.value) is InputError
    assert "\n" not in str(info.value)
    assert str(info.value)
