"""The Examples sections of the public docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import qkdbench

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(qkdbench.__path__, "qkdbench.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
