"""How much faster ASAP7's FF (BC) cells are than the TT cells this project times with,
from the libraries' own delay tables: the gap between our timing and ORFS's results on
designs ORFS timed at the BC corner.

    python -m benchmarks.corner_gap FF_LIB [FF_LIB ...] [--tt-dir ../shared/pdk/asap7/lib/NLDM]

Each FF liberty file (plain text; ORFS ships them compressed in platforms/asap7/lib/NLDM,
OpenROAD's test/asap7 has some uncompressed) is paired with the TT file of the same cell
group and flavour. For every timing arc both describe (cell, pin, related pin, rise or
fall), the delay at a 20 ps input slew and a 5.76 fF load (the middle of ASAP7's 7x7
tables) is read from each, and the TT/FF ratio reported: median and 10th/90th
percentiles per group. A path of such cells is that much slower at TT."""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLEW_PS, LOAD_FF = 20.0, 5.76
_GROUP = re.compile(r"asap7sc7p5t_([A-Z]+)_([A-Z]+)_(TT|FF|SS)_")


def _read(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", errors="replace") as fh:
        return fh.read()


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", text)]


def arc_delays(text: str) -> dict[tuple, float]:
    """(cell, pin, related pin, cell_rise|cell_fall) -> delay (ps) at SLEW_PS / LOAD_FF."""
    out = {}
    cell = pin = related = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        m = re.match(r"cell\s*\(\s*\"?([\w]+)\"?\s*\)", line)
        if m:
            cell = m.group(1)
        m = re.match(r"pin\s*\(\s*\"?([\w\[\]]+)\"?\s*\)", line)
        if m:
            pin = m.group(1)
        m = re.match(r'related_pin\s*:\s*"?([\w]+)"?', line)
        if m:
            related = m.group(1)
        m = re.match(r"(cell_rise|cell_fall)\s*\(", line)
        if m and cell and pin:
            block = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("}"):
                block.append(lines[i])
                i += 1
            body = "\n".join(block)
            idx1 = re.search(r'index_1\s*\("([^"]*)"\)', body)
            idx2 = re.search(r'index_2\s*\("([^"]*)"\)', body)
            values = re.search(r"values\s*\((.*)\)", body, re.DOTALL)
            if idx1 and idx2 and values:
                slews, loads = _numbers(idx1.group(1)), _numbers(idx2.group(1))
                table = _numbers(values.group(1))
                if SLEW_PS in slews and LOAD_FF in loads and len(table) == len(slews) * len(loads):
                    value = table[slews.index(SLEW_PS) * len(loads) + loads.index(LOAD_FF)]
                    out[(cell, pin, related, m.group(1))] = value
        i += 1
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ff", nargs="+", type=Path, help="FF liberty files")
    parser.add_argument("--tt-dir", type=Path, default=ROOT.parent / "shared" / "pdk" / "asap7" / "lib" / "NLDM")
    args = parser.parse_args(argv)
    every = []
    print("| group | flavour | arcs | TT/FF delay, median | 10th-90th percentile |\n|---|---|---|---|---|")
    for ff in args.ff:
        m = _GROUP.search(ff.name)
        if not m:
            raise SystemExit(f"corner_gap: {ff.name} is not named asap7sc7p5t_<GROUP>_<VT>_FF_...")
        group, vt = m.group(1), m.group(2)
        tt_files = sorted(args.tt_dir.glob(f"asap7sc7p5t_{group}_{vt}_TT_nldm_*.lib*"))
        if not tt_files:
            raise SystemExit(f"corner_gap: no TT file for {group} {vt} in {args.tt_dir}")
        fast, typical = arc_delays(_read(ff)), arc_delays(_read(tt_files[-1]))
        ratios = sorted(typical[k] / fast[k] for k in fast.keys() & typical.keys() if fast[k] > 0)
        every += ratios
        deciles = statistics.quantiles(ratios, n=10)
        print(
            f"| {group} | {vt} | {len(ratios)} | {statistics.median(ratios):.3f} | {deciles[0]:.3f}-{deciles[-1]:.3f} |"
        )
    deciles = statistics.quantiles(every, n=10)
    print(f"| all | | {len(every)} | {statistics.median(every):.3f} | {deciles[0]:.3f}-{deciles[-1]:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
