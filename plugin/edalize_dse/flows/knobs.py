"""EDA knobs: the names a space file's ``eda`` layer may use, their defaults and legal values.

A knob named in capitals is an OpenROAD-flow-scripts variable with the same meaning
(``ASAP7_USE_VT``, ``SYNTH_HIERARCHICAL``, ``DONT_USE_CELLS``), so a chosen point
hands over to an ORFS run without translation. A lower-case knob has no
identical ORFS variable; ``orfs`` says which variable it maps to where one
covers part of it (``abc_script`` speed/area is ORFS's ``ABC_AREA`` 0/1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Knob:
    name: str
    default: object
    meaning: str
    # Returns None for a legal value, else what is wrong with it.
    check: Callable[[object], str | None]
    legal: str  # the legal values in words, for messages and docs
    orfs: str | None = None  # the ORFS variable it is (capital name) or maps onto

    def problem(self, value) -> str | None:
        found = self.check(value)
        return None if found is None else f"knob '{self.name}' = {value!r}: {found}; legal: {self.legal}"


def positive_number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return "must be a positive number"
    return None


def non_negative_int(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return "must be a non-negative integer"
    return None


def percentage(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 100:
        return "must be a number from 0 to below 100"
    return None


def percent(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        return "must be a number from 0 to 100"
    return None


def utilisation(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 100:
        return "must be a percentage between 0 and 100"
    return None


def fraction(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        return "must be a number in (0, 1]"
    return None


def positive_int(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "must be a positive integer"
    return None


def optional(check):
    """A knob whose default (None) leaves the tool's own default in force."""

    def check_unless_unset(value):
        return None if value is None else check(value)

    return check_unless_unset


def switch(value):
    """ORFS writes switches as 0/1; a space file may also use true/false."""
    return None if value in (0, 1) else "must be 0/1 or false/true"


def one_of(*choices):
    def check(value):
        return None if value in choices else "not a legal value"

    return check


def as_switch(value) -> bool:
    return bool(value)


def check_all(knobs: dict[str, Knob], values: dict, flow: str) -> list[str]:
    """Problems of a set of knob values: unknown names, illegal values."""
    problems = []
    for name, value in values.items():
        knob = knobs.get(name)
        if knob is None:
            problems.append(f"unknown EDA knob '{name}' for flow '{flow}' (known: {', '.join(knobs)})")
            continue
        found = knob.problem(value)
        if found:
            problems.append(found)
    return problems
