"""The generic part of every official-weight importer: a plan of official name -> our variable.

    plan = WeightPlan()
    plan.add("G_mapping/Dense0/weight", layer.kernel, (512, 512), convert)
    apply_plan(plan, variables, "generator")   # UserError listing missing/unexpected/misshaped names

Nothing is assigned unless every official name fits (one error lists every problem).
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from stylegan_tf.errors import UserError

Converter = Callable[[np.ndarray], np.ndarray]


def same(x: np.ndarray) -> np.ndarray:
    return x


class WeightPlan:
    """Official name -> (our variable, official shape, converter); `ignored`: names accepted and unused."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[object, tuple[int, ...], Converter]] = {}
        self.ignored: set[str] = set()

    def add(self, name: str, variable, shape, convert: Converter = same) -> None:
        self.entries[name] = (variable, tuple(int(s) for s in shape), convert)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: shape for name, (_, shape, _) in self.entries.items()}


def _listed(names: list[str]) -> str:
    return f"{len(names)}: {names[:12]}{' ...' if len(names) > 12 else ''}"


def apply_plan(plan: WeightPlan, variables: Mapping[str, np.ndarray], what: str) -> None:
    """Checks `variables` against `plan` (all or nothing), then assigns every converted value."""
    names = set(variables)
    missing = sorted(set(plan.entries) - names)
    unexpected = sorted(names - set(plan.entries) - plan.ignored)
    misshaped = [f"{name}: expected {shape}, received {tuple(np.shape(variables[name]))}"
                 for name, (_, shape, _) in plan.entries.items()
                 if name in variables and tuple(np.shape(variables[name])) != shape]
    problems = []
    if missing:
        problems.append("missing " + _listed(missing))
    if unexpected:
        problems.append("unexpected " + _listed(unexpected))
    if misshaped:
        problems.append(f"misshaped {len(misshaped)}: {misshaped[:12]}")
    if problems:
        raise UserError(f"Official {what} weights do not match this network configuration; "
                        + "; ".join(problems))
    for name, (variable, shape, convert) in plan.entries.items():
        value = convert(np.asarray(variables[name], dtype=np.float32))
        variable.assign(np.ascontiguousarray(value).reshape(variable.shape))
