"""Where a result comes from: the content hash of its instance and the versions that computed it.

Every row of a sweep carries both, so that two results can be told apart (or
matched) across machines and releases.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
from functools import lru_cache

from ..io import instance_to_dict
from ..model import Instance

__all__ = ["instance_hash", "versions", "RESULT_PACKAGES"]

#: Packages whose versions decide a result (besides Python), in the order listed.
RESULT_PACKAGES: tuple[str, ...] = ("qkdbench", "numpy", "numba", "pulp", "highspy", "deap")


def instance_hash(instance: Instance) -> str:
    """A short content hash of an instance (its canonical JSON, SHA-256, 16 hex digits).

    The instance's name is left out, so two identical instances hash alike.

    Parameters
    ----------
    instance : Instance

    Returns
    -------
    str
        16 hexadecimal digits.

    Examples
    --------
    >>> from qkdbench.topologies import make_instance
    >>> inst = make_instance("nsfnet", 3, 2, seed=1)
    >>> renamed = inst.with_requests(inst.requests, name="other")
    >>> instance_hash(renamed) == instance_hash(inst), len(instance_hash(inst))
    (True, 16)
    """
    data = instance_to_dict(instance)
    data.pop("name", None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=1)
def versions() -> str:
    """``name=version`` of Python and of :data:`RESULT_PACKAGES` installed, ``;``-separated.

    Returns
    -------
    str
        E.g. ``python=3.11.9;qkdbench=0.4.0;numpy=1.26.4;...`` (packages not
        installed are left out).

    Examples
    --------
    >>> versions().startswith("python=")
    True
    """
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"python={platform.python_version()}"]
    for package in RESULT_PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            parts.append(f"{package}={version(package)}")
    return ";".join(parts)
