"""The pages of ``qkdbench report``: Markdown and HTML tables, and the one-page HTML report.

Text only: the tables come from :mod:`qkdbench.library.report_stats`, the
figures as PNG files (embedded as base64, so the page stands alone).
"""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "format_value",
    "markdown_table",
    "html_table",
    "short_names",
    "figure_html",
    "html_page",
]


def format_value(v: Any, digits: int = 2) -> str:
    """A table cell: floats with thousands separators, ``inf``, empty for ``nan``.

    Parameters
    ----------
    v : object
    digits : int
        Digits after the point of a float.

    Returns
    -------
    str

    Examples
    --------
    >>> [format_value(v) for v in (1234.5, float("inf"), float("nan"), 3)]
    ['1,234.50', 'inf', '', '3']
    """
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf"
        return f"{v:,.{digits}f}"
    return str(v)


def markdown_table(df: pd.DataFrame, digits: int = 2) -> str:
    """A pipe table of ``df`` (no index).

    Parameters
    ----------
    df : pandas.DataFrame
    digits : int

    Returns
    -------
    str

    Examples
    --------
    >>> print(markdown_table(pd.DataFrame({"a": ["x"], "b": [1.5]})))
    | a | b |
    |---|---|
    | x | 1.50 |
    """
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in df.itertuples(index=False):
        lines.append("| " + " | ".join(format_value(v, digits) for v in r) + " |")
    return "\n".join(lines)


def short_names(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with column names that break into lines in a narrow table head.

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> list(short_names(pd.DataFrame(columns=["median_gap_pct", "mean_runtime_s"])).columns)
    ['median gap %', 'mean runtime s']
    """
    return df.rename(
        columns=lambda c: c.replace("_pct", " %").replace("_s", " s").replace("_", " ")
    )


def html_table(df: pd.DataFrame, digits: int = 2) -> str:
    """An HTML table of ``df`` (no index), cells escaped.

    Parameters
    ----------
    df : pandas.DataFrame
    digits : int

    Returns
    -------
    str
    """
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(format_value(v, digits))}</td>" for v in r) + "</tr>"
        for r in df.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure_html(png: str | os.PathLike, name: str, caption: str) -> str:
    """A ``<figure>`` with the PNG embedded as base64 and an escaped caption.

    Parameters
    ----------
    png : path-like
        The image file.
    name : str
        Its ``alt`` text.
    caption : str

    Returns
    -------
    str
    """
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
max-width:1100px;color:#222;padding:0 16px}
h1{font-size:1.5em;margin-bottom:4px}h2{font-size:1.15em;margin-top:28px;
border-bottom:1px solid #ddd;padding-bottom:3px}
.meta{color:#555;font-size:.9em}
.note{color:#444;font-size:.85em;max-width:900px}
table{border-collapse:collapse;font-size:.82em;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
td{white-space:nowrap}th{vertical-align:bottom}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;flex:1 1 480px}figure img{width:100%;max-width:620px;border:1px solid #eee}
figcaption{font-size:.85em;color:#444}
.scroll{overflow-x:auto}
"""


def html_page(title: str, heading: str, meta: str, sections: Sequence[tuple[str, str]]) -> str:
    """The whole report page: a heading, a line of metadata and the sections in order.

    Parameters
    ----------
    title : str
        The window's title, plain text (escaped here).
    heading : str
        The page's heading, plain text (escaped here).
    meta : str
        Plain text (escaped here).
    sections : sequence of (str, str)
        Each a plain-text heading and its body, already HTML.

    Returns
    -------
    str
        A standalone HTML document.
    """
    body = "\n".join(f"<h2>{html.escape(h)}</h2>{content}" for h, content in sections)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{_CSS}</style></head><body>\n<h1>{html.escape(heading)}</h1>\n"
        f'<p class="meta">{html.escape(meta)}</p>\n{body}\n</body></html>\n'
    )
