"""Every public exception of the package derives from one base and keeps its built-in base."""

from __future__ import annotations

import inspect

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
