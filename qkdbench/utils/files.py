"""Reading and writing the project's files, with one-line :class:`InputError` s."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from ..exceptions import InputError

__all__ = [
    "read_text",
    "parse_json",
    "read_json",
    "parse_toml",
    "write_json",
    "check_output_file",
]


class _Duplicates(dict):
    """A JSON object that repeated a key (``key``: the first repeated one)."""

    key: str = ""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook``: a dict, marked when a key repeats (the path is found later)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            dup = _Duplicates(pairs)
            dup.key = key
            return dup
        out[key] = value
    return out


def _duplicate_place(data: Any) -> tuple[str, str] | None:
    """The JSON path of the first object that repeated a key, and the key (iteratively)."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        place, value = stack.pop()
        if isinstance(value, _Duplicates):
            return place, value.key
        if isinstance(value, dict):
            items = [(f"{place}.{k}" if place else str(k), v) for k, v in value.items()]
        elif isinstance(value, list):
            items = [(f"{place}[{i}]", v) for i, v in enumerate(value)]
        else:
            continue
        stack.extend(reversed(items))  # depth first, in document order
    return None


def parse_json(text: str, source: str = "") -> Any:
    """The JSON value of ``text``, every decoder error a one-line :class:`InputError`.

    Refused, each naming ``source`` and the place where it can: malformed JSON
    (line and column), a key repeated in one object (its JSON path: the file would
    mean the last value, silently), an integer literal of more digits than Python
    converts (4,300), and nesting deeper than the decoder can follow.

    Parameters
    ----------
    text : str
        One JSON value.
    source : str, optional
        The file (or other origin) named in errors.

    Returns
    -------
    Any
        The value as :func:`json.loads` gives it (dicts, lists, str, float, int, bool, None).

    Raises
    ------
    InputError
        As said above.

    Examples
    --------
    >>> parse_json('{"a": [1, {"b": 2, "b": 3}]}', "x.json")
    Traceback (most recent call last):
    ...
    qkdbench.exceptions.InputError: x.json: a[1].b: duplicate key 'b'
    """
    dups = False

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal dups
        obj = _object(pairs)
        dups = dups or isinstance(obj, _Duplicates)
        return obj

    try:
        data = json.loads(text, object_pairs_hook=hook)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"malformed JSON: {exc.msg}", f"line {exc.lineno} column {exc.colno}", source
        ) from None
    except RecursionError:
        raise InputError("malformed JSON: nested too deeply", "", source) from None
    except ValueError as exc:  # the integer-string conversion limit
        why = (
            f"an integer literal of more than {sys.get_int_max_str_digits()} digits"
            if "digits" in str(exc)
            else " ".join(str(exc).split())
        )
        raise InputError(f"malformed JSON: {why}", "", source) from None
    if dups:
        found = _duplicate_place(data)
        if found is not None:
            place, key = found
            raise InputError(f"duplicate key {key!r}", f"{place}.{key}" if place else key, source)
    return data


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
        As :func:`read_text`, or as :func:`parse_json` (``FILE: line L column C: malformed
        JSON: ...``, ``FILE: PLACE: duplicate key 'K'``, ...).
    """
    return parse_json(read_text(path), os.fspath(path))


def parse_toml(path: str | os.PathLike) -> dict[str, Any]:
    """The tables of a TOML file, every decoder error a one-line :class:`InputError`.

    Parameters
    ----------
    path : str or os.PathLike
        A UTF-8 TOML file.

    Returns
    -------
    dict
        As :func:`tomllib.loads` gives it.

    Raises
    ------
    InputError
        As :func:`read_text`; ``FILE: not valid TOML: ...`` (a key given twice
        included); an integer of more than 4,300 digits; nesting deeper than the
        decoder can follow.
    """
    import tomllib

    src = os.fspath(path)
    text = read_text(src)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {' '.join(str(exc).split())}", "", src) from None
    except RecursionError:
        raise InputError("not valid TOML: nested too deeply", "", src) from None
    except ValueError as exc:  # the integer-string conversion limit
        why = (
            f"an integer of more than {sys.get_int_max_str_digits()} digits"
            if "digits" in str(exc)
            else " ".join(str(exc).split())
        )
        raise InputError(f"not valid TOML: {why}", "", src) from None


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


def check_output_file(path: str | os.PathLike, option: str = "") -> None:
    """Refuse a file that cannot be written, before any work is done for it.

    Every command that writes a file checks it first, so that a typo in an output
    path is one line at once, not an error after a long solve.

    Parameters
    ----------
    path : str or os.PathLike
        The file to be written (created or overwritten).
    option : str, optional
        The option that named it (``-o``, ``--solutions``), for the message.

    Raises
    ------
    InputError
        ``FILE: cannot write file (...)``: the path is a directory, its directory does
        not exist (or is not a directory), or either is not writable.

    Examples
    --------
    >>> try:
    ...     check_output_file("no/such/plan.json", "-o")
    ... except InputError as exc:
    ...     print(exc)
    no/such/plan.json: cannot write file (-o): no such directory 'no/such'
    """
    src = os.fspath(path)
    how = f" ({option})" if option else ""
    if not src:
        raise InputError(f"cannot write file{how}: empty path")
    if Path(src).is_dir():
        raise InputError(f"cannot write file{how}: is a directory", "", src)
    parent = str(Path(src).parent)
    if not Path(parent).is_dir():
        what = "not a directory" if Path(parent).exists() else "no such directory"
        raise InputError(f"cannot write file{how}: {what} {parent!r}", "", src)
    if not os.access(parent, os.W_OK | os.X_OK) or (
        Path(src).exists() and not os.access(src, os.W_OK)
    ):
        raise InputError(f"cannot write file{how}: permission denied", "", src)
