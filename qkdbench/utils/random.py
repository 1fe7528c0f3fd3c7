"""Seeds to random generators: the one place where a seed becomes a stream.

Every random step of the package takes a seed and turns it into a generator
here, after :func:`sklearn.utils.check_random_state`:

* :func:`check_random_state` -- a :class:`numpy.random.Generator` from a seed;
* :func:`derive_rng` -- a generator for one named step of a seeded recipe (an
  independent stream per key, ``numpy.random.default_rng([seed, *keys])``);
* :func:`check_seed` -- the integer a seed stands for, where something other than
  numpy draws (Python's :class:`random.Random` in the GA).

``seed=None`` means seed 0: every run is reproducible, and nothing is drawn
from the operating system's entropy.

Examples
--------
>>> int(check_random_state(7).integers(1000)) == int(check_random_state(7).integers(1000))
True
>>> int(check_random_state(None).integers(1000)) == int(check_random_state(0).integers(1000))
True
"""

from __future__ import annotations

import numbers

import numpy as np

from ..exceptions import InputError

__all__ = ["Seed", "check_seed", "check_random_state", "derive_rng"]

#: What a seed may be: ``None`` (seed 0), an integer >= 0, a
#: :class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`.
Seed = None | int | np.integer | np.random.SeedSequence | np.random.Generator

_EXPECTED = "expected None, an integer >= 0, a numpy SeedSequence or a numpy Generator"


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_seed(seed: int | np.integer | None, place: str = "seed") -> int:
    """The integer seed ``seed`` stands for: ``None`` is 0, an integer >= 0 is itself.

    Parameters
    ----------
    seed : int or None
        The seed.
    place : str, optional
        Where the seed came from, for the error message.

    Returns
    -------
    int

    Raises
    ------
    InputError
        If ``seed`` is neither ``None`` nor an integer >= 0.

    Examples
    --------
    >>> check_seed(None), check_seed(5)
    (0, 5)
    """
    if seed is None:
        return 0
    if not _is_int(seed):
        raise InputError(f"expected None or an integer >= 0, got {seed!r}", place)
    if int(seed) < 0:
        raise InputError(f"must be >= 0, got {seed!r}", place)
    return int(seed)


def check_random_state(seed: Seed, place: str = "seed") -> np.random.Generator:
    """A :class:`numpy.random.Generator` for ``seed``.

    ``None`` means seed 0 (every run is reproducible); an integer ``s >= 0``
    gives ``numpy.random.default_rng(s)``; a :class:`~numpy.random.SeedSequence`
    seeds a new generator; a :class:`~numpy.random.Generator` is returned as is
    (it is shared, not copied: drawing from one draws from the other).

    Parameters
    ----------
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        The seed.
    place : str, optional
        Where the seed came from, for the error message.

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    InputError
        For anything else (a negative integer, a float, a bool, a string, a list,
        a legacy ``RandomState``).

    Examples
    --------
    >>> rng = check_random_state(3)
    >>> check_random_state(rng) is rng
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if seed is None or _is_int(seed):
        return np.random.default_rng(check_seed(seed, place))
    raise InputError(f"{_EXPECTED}, got {seed!r}", place)


def derive_rng(seed: Seed, *keys: int, place: str = "seed") -> np.random.Generator:
    """The generator of one step of a seeded recipe: an independent stream per ``keys``.

    For an integer seed ``s`` (``None`` is 0) it is
    ``numpy.random.default_rng([s, *keys])``, so that each step of a recipe
    draws the same numbers whatever the other steps draw. For a
    :class:`~numpy.random.SeedSequence` it is the stream of the same sequence
    with ``keys`` appended to its spawn key. Without ``keys`` it is
    :func:`check_random_state`.

    Parameters
    ----------
    seed : None, int or numpy.random.SeedSequence
        The recipe's seed.
    *keys : int
        The step's stream numbers (integers >= 0).
    place : str, optional
        Where the seed came from, for the error message.

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    InputError
        If ``seed`` is not one of the above (a :class:`~numpy.random.Generator` has
        no seed to derive from) or a key is not an integer >= 0.

    Examples
    --------
    >>> a = derive_rng(7, 1).integers(1000, size=3)
    >>> b = derive_rng(7, 2).integers(1000, size=3)
    >>> bool((a == derive_rng(7, 1).integers(1000, size=3)).all()), bool((a == b).all())
    (True, False)
    """
    for k in keys:
        if not _is_int(k) or int(k) < 0:
            raise InputError(f"stream keys must be integers >= 0, got {k!r}", place)
    if not keys:
        return check_random_state(seed, place)
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(
            np.random.SeedSequence(
                seed.entropy,
                spawn_key=tuple(seed.spawn_key) + tuple(int(k) for k in keys),
                pool_size=seed.pool_size,
            )
        )
    if isinstance(seed, np.random.Generator) or not (seed is None or _is_int(seed)):
        raise InputError(
            f"expected None, an integer >= 0 or a numpy SeedSequence to derive from, got {seed!r}",
            place,
        )
    return np.random.default_rng([check_seed(seed, place), *(int(k) for k in keys)])
