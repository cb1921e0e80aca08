"""What the netlist repair needs from the standard-cell liberty files: each cell's area
and output capacitance limit, and the drive-strength families cells can be resized in."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_CELL = re.compile(r"^\s*cell\s*\(\s*\"?([\w$]+)\"?\s*\)\s*\{", re.MULTILINE)
_AREA = re.compile(r"^\s*area\s*:\s*([-+\deE.]+)", re.MULTILINE)
_MAX_CAP = re.compile(r"^\s*max_capacitance\s*:\s*([-+\deE.]+)", re.MULTILINE)
_MAX_TRANSITION = re.compile(r"^\s*max_transition\s*:\s*([-+\deE.]+)", re.MULTILINE)
_DEFAULT_MAX_TRANSITION = re.compile(r"^\s*default_max_transition\s*:\s*([-+\deE.]+)", re.MULTILINE)
_TIME_UNIT = re.compile(r'time_unit\s*:\s*"?1\s*(ps|ns)"?', re.IGNORECASE)
_CAP_UNIT = re.compile(r"capacitive_load_unit\s*\(\s*1\s*,\s*(ff|pf)\s*\)", re.IGNORECASE)
# ASAP7 cell names: function, 'x', drive strength (1p5 = 1.5, p33 = 0.33), an optional
# variant letter, then the library tag and threshold flavour: NAND2x1p5_ASAP7_75t_R.
_SIZED = re.compile(r"^(?P<base>[A-Za-z0-9]+?)x(?P<drive>\d*p?\d+)(?P<variant>[a-zA-Z]*)(?P<tag>_ASAP7_\w+)$")


@dataclass(frozen=True)
class Cell:
    name: str
    area: float  # um2
    max_cap_ff: float | None  # the tightest output pin limit; None: the library gives none
    max_transition_ps: float | None = None  # the tightest pin slew limit (a macro's inputs: tens of ps)


@lru_cache(maxsize=64)
def _cells(path: str, mtime_ns: int) -> tuple[Cell, ...]:
    text = Path(path).read_text(errors="replace")
    starts = [(m.start(), m.group(1)) for m in _CELL.finditer(text)]
    header = text[: starts[0][0]] if starts else text
    # Values in ps and fF whatever the file's units (ASAP7: ps, fF; fakeram and our SRAM views: ns, pF).
    time_ps = 1000.0 if (m := _TIME_UNIT.search(header)) and m.group(1).lower() == "ns" else 1.0
    cap_ff = 1000.0 if (m := _CAP_UNIT.search(header)) and m.group(1).lower() == "pf" else 1.0
    default_slew = _DEFAULT_MAX_TRANSITION.search(header)
    cells = []
    for i, (start, name) in enumerate(starts):
        body = text[start : starts[i + 1][0] if i + 1 < len(starts) else len(text)]
        area = _AREA.search(body)
        caps = [float(c) * cap_ff for c in _MAX_CAP.findall(body)]
        slews = [float(c) * time_ps for c in _MAX_TRANSITION.findall(body)]
        if default_slew:
            slews.append(float(default_slew.group(1)) * time_ps)
        cells.append(
            Cell(
                name, float(area.group(1)) if area else 0.0, min(caps) if caps else None, min(slews) if slews else None
            )
        )
    return tuple(cells)


def read_cells(paths) -> dict[str, Cell]:
    """Cell name -> Cell over liberty files (plain text)."""
    table = {}
    for path in paths:
        p = Path(path)
        for cell in _cells(str(p), p.stat().st_mtime_ns):
            table[cell.name] = cell
    return table


def drive(name: str) -> float | None:
    """A sized cell's drive strength (NAND2x1p5 -> 1.5, INVxp33 -> 0.33), None when unsized."""
    m = _SIZED.match(name)
    if not m:
        return None
    text = m.group("drive")
    return float(text.replace("p", ".")) if "p" in text else float(text)


def families(cells: dict[str, Cell], dont_use=()) -> dict[str, list[str]]:
    """Function + flavour -> its usable cells from smallest to largest area (the sizes a
    cell may be swapped between); cells matching a ``dont_use`` pattern are left out."""
    groups: dict[str, list[str]] = {}
    for name in cells:
        m = _SIZED.match(name)
        if not m or any(fnmatch.fnmatchcase(name, pat) for pat in dont_use):
            continue
        groups.setdefault(m.group("base") + m.group("tag"), []).append(name)
    return {k: sorted(v, key=lambda n: (cells[n].area, drive(n))) for k, v in groups.items() if len(v) > 1}
