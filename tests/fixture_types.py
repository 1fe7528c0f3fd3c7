"""Types of the root ``conftest.py``'s command-line fixtures, to annotate the tests using them.

A test asks for ``run_cli: RunCli`` (or ``run_python: RunPython``, ``run_main: RunMain``,
``one_line_error: OneLineError``); this module holds no fixture and runs nothing.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

__all__ = ["CliResult", "OneLineError", "RunCli", "RunMain", "RunPython"]


class CliResult(NamedTuple):
    """What an in-process run of the command line gave: ``code, out, err = result``."""

    returncode: int
    stdout: str
    stderr: str


class RunCli(Protocol):
    """``run_cli(*args, cwd=None, env=None, check=False, timeout=600)``: ``qkdbench ARGS``."""

    def __call__(
        self,
        *args: object,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = False,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]: ...


class RunPython(Protocol):
    """``run_python(code, *args, cwd=None, env=None, timeout=600)``: ``python -c CODE ARGS``."""

    def __call__(
        self,
        code: str,
        *args: object,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]: ...


class RunMain(Protocol):
    """``code, out, err = run_main(*args)``: ``qkdbench.cli.main`` in this process."""

    def __call__(self, *args: object) -> CliResult: ...


class OneLineError(Protocol):
    """``one_line_error(res, *needles, status=2)``: one stderr line, every needle in it."""

    def __call__(
        self, res: subprocess.CompletedProcess[str] | CliResult, *needles: str, status: int = 2
    ) -> None: ...
