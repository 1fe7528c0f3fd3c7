"""The directories the experiments write into (figures, sweep results)."""

from __future__ import annotations

import os
from pathlib import Path

from ..exceptions import InputError

__all__ = ["output_directory"]


def output_directory(path: str | os.PathLike, option: str, holds: str) -> Path:
    """Make sure ``path`` is a directory to write into (created if missing).

    Parameters
    ----------
    path : str or path-like
    option : str
        The command-line option that named it (``-o``, ``--out``).
    holds : str
        What goes into it, for the message.

    Returns
    -------
    Path
        ``path``, now an existing directory.

    Raises
    ------
    InputError
        If ``path`` is a file, or cannot be created.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     output_directory(Path(tmp) / "figs", "-o", "the figures").is_dir()
    True
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"not a directory ({option} names the directory of {holds})", "", str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create the directory: {exc.strerror or exc}", "", str(out)
        ) from None
    return out
