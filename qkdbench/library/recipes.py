"""The library's recipes: :mod:`qkdbench.planning.recipes`, importable from here.

The function that builds an instance from a recipe lives below the planner packages so
that the RL training families draw their instances through it too; the library stores
every instance as a recipe.
"""

from __future__ import annotations

from ..planning.recipes import (
    DESIGN_KEYS,
    NTN_KEYS,
    PARAM_KEYS,
    RECIPE_KEYS,
    SCENARIO_KEYS,
    instance_from_recipe,
    recipe_name,
)

__all__ = [
    "RECIPE_KEYS",
    "PARAM_KEYS",
    "DESIGN_KEYS",
    "NTN_KEYS",
    "SCENARIO_KEYS",
    "instance_from_recipe",
    "recipe_name",
]
