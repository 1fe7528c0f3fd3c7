"""Reading and writing the project's files, with one-line :class:`InputError` s."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..exceptions import InputError

__all__ = ["read_text", "read_json", "write_json"]


def read_text(path: str | os.PathLike) -> str:
    """The UTF-8 text of ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.

    Returns
    -------
    str
        Its whole text, decoded as UTF-8.

    Raises
    ------
    InputError
        ``FILE: cannot read file (...)`` or ``FILE: not UTF-8 text (byte N)``.
    """
    src = os.fspath(path)
    try:
        with Path(src).open(encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", "", src) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", "", src) from None


def read_json(path: str | os.PathLike) -> Any:
    """The JSON value in ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        A UTF-8 file holding one JSON value.

    Returns
    -------
    Any
        The value as :func:`json.loads` gives it (dicts, lists, str, float, int, bool, None).

    Raises
    ------
    InputError
        As :func:`read_text`, or ``FILE: line L column C: malformed JSON: ...``.
    """
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"malformed JSON: {exc.msg}", f"line {exc.lineno} column {exc.colno}", os.fspath(path)
        ) from None


def write_json(data: Any, path: str | os.PathLike) -> None:
    """Write ``data`` as indented strict JSON with a final newline.

    Parameters
    ----------
    data : Any
        Plain JSON data; a non-finite float makes :func:`json.dump` raise ``ValueError``.
        Pass it through :func:`~qkdbench.utils.jsonsafe.json_safe` first if it may hold one.
    path : str or os.PathLike
        The file, created or overwritten.

    Raises
    ------
    InputError
        ``FILE: cannot write file (...)``.
    """
    try:
        with Path(path).open("w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, allow_nan=False)
            fh.write("\n")
    except OSError as exc:
        raise InputError(
            f"cannot write file ({exc.strerror or exc})", "", os.fspath(path)
        ) from None
