"""Running one matrix multiply through the generated accelerator in Icarus Verilog,
and the bit-exact numpy reference of its arithmetic.

Reference semantics (the same as the RTL, see ``embedded.py``): for every DIM-deep
slice of K, the block product is computed exactly and wrapped to a signed
``spatialArrayOutputType``-bit value (the PE partial sums wrap modulo 2^out, so the
wrapped exact sum equals what the mesh produces); each such block result is added
to the accumulator row modulo 2^``accType``. With ``accumulate`` the accumulator
starts from D (what it held), else from 0."""

from __future__ import annotations

import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edalize_dse.generators import get_generator
from edalize_dse.templating import render_to


def wrap(values, bits: int) -> np.ndarray:
    """Two's-complement wrap-around of integers to ``bits`` bits."""
    values = np.asarray(values, dtype=object)
    half = 1 << (bits - 1)
    return ((values + half) % (1 << bits)) - half


def reference(
    a: np.ndarray, b: np.ndarray, d: np.ndarray, dim: int, out_bits: int, acc_bits: int, accumulate: bool
) -> np.ndarray:
    """C = A x B (+ D) as the accelerator computes it (Python integers, no overflow)."""
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    acc = np.asarray(d, dtype=object) if accumulate else np.zeros((a.shape[0], b.shape[1]), dtype=object)
    for k0 in range(0, a.shape[1], dim):
        block = wrap(a[:, k0 : k0 + dim].dot(b[k0 : k0 + dim, :]), out_bits)
        acc = wrap(acc + block, acc_bits)
    return acc


def pack(row, bits: int) -> int:
    mask = (1 << bits) - 1
    return sum((int(x) & mask) << (e * bits) for e, x in enumerate(row))


def unpack(word: int, count: int, bits: int) -> list[int]:
    mask, half = (1 << bits) - 1, 1 << (bits - 1)
    return [(((word >> (e * bits)) & mask) ^ half) - half for e in range(count)]


@dataclass
class SimResult:
    c: np.ndarray
    cycles: int
    a_addr: int
    b_addr: int
    c_addr: int


def simulate(
    config: dict, a: np.ndarray, b: np.ndarray, d: np.ndarray, workdir: Path, accumulate: bool = True, ws: bool = False
) -> SimResult:
    """Generate ``config``, load A, B, D through the memory port, run one command and
    read C back. ``ws`` picks the dataflow of a BOTH array (ignored otherwise)."""
    workdir = Path(workdir)
    gen = get_generator("embedded")
    cfg = gen.resolve(config)
    broken = gen.violations(cfg)
    if broken:
        raise ValueError("; ".join(broken))
    design = gen.generate(cfg, workdir / "rtl")
    ctx = gen.template_context(cfg)
    dim, in_bits, acc_bits = ctx["dim"], ctx["in_bits"], ctx["acc_bits"]
    m, k = a.shape
    n = b.shape[1]
    if m % dim or k % dim or n % dim or b.shape[0] != k or d.shape != (m, n):
        raise ValueError(f"shapes {a.shape} x {b.shape} (+ {d.shape}) must be multiples of DIM = {dim}")
    a_rows, b_rows, c_rows = m * k // dim, k * n // dim, m * n // dim
    sp_rows = ctx["sp_banks"] * ctx["sp_entries"]
    acc_rows = ctx["acc_banks"] * ctx["acc_entries"]
    # Straddle bank boundaries: A starts half-way before the end of bank 0, B ends the scratchpad.
    a_addr = max(0, ctx["sp_entries"] - a_rows // 2)
    b_addr = sp_rows - b_rows
    c_addr = min(max(0, ctx["acc_entries"] - c_rows // 2), acc_rows - c_rows)
    if a_addr + a_rows > b_addr:
        a_addr = 0
    if a_addr + a_rows > b_addr or c_addr < 0:
        raise ValueError(f"A, B or C do not fit the memories of {cfg}")
    image = {}
    for kb in range(k // dim):
        for i in range(m):
            image[a_addr + kb * m + i] = pack(a[i, kb * dim : (kb + 1) * dim], in_bits)
    for nb in range(n // dim):
        for kk in range(k):
            image[b_addr + nb * k + kk] = pack(b[kk, nb * dim : (nb + 1) * dim], in_bits)
    lo, hi = min(image), max(image) + 1
    sp_hex = "".join(f"{image.get(r, 0):x}\n" for r in range(lo, hi))
    acc_words = [pack(d[i, nb * dim : (nb + 1) * dim], acc_bits) for nb in range(n // dim) for i in range(m)]
    (workdir / "sp.hex").write_text(sp_hex)
    (workdir / "acc.hex").write_text("".join(f"{w:x}\n" for w in acc_words))
    blocks = (m // dim) * (k // dim) * (n // dim)
    tb = render_to(
        workdir / "tb.v",
        "sim/tb_gemmini.v.j2",
        **ctx,
        sp_file="sp.hex",
        acc_file="acc.hex",
        c_file="c.hex",
        sp_base=lo,
        sp_n=hi - lo,
        acc_n=c_rows,
        c_n=c_rows,
        a_addr=a_addr,
        b_addr=b_addr,
        c_addr=c_addr,
        m_blocks=m // dim,
        k_blocks=k // dim,
        n_blocks=n // dim,
        accumulate=int(accumulate),
        ws=int(ws),
        timeout=blocks * (8 * dim + ctx["os_len"] + ctx["ws_len"]) + 100,
    )
    vvp = workdir / "sim.vvp"
    subprocess.run(
        ["iverilog", "-g2012", "-o", str(vvp), str(tb), *map(str, design.files), *map(str, design.sim_files)],
        check=True,
        capture_output=True,
        text=True,
    )
    run = subprocess.run(["nice", "vvp", "-n", str(vvp)], cwd=workdir, check=True, capture_output=True, text=True)
    if "CYCLES" not in run.stdout:
        raise RuntimeError(f"simulation did not finish: {run.stdout[-2000:]}")
    cycles = int(run.stdout.split("CYCLES")[1].split()[0])
    words = [int(x, 16) for x in (workdir / "c.hex").read_text().split()]
    c = np.zeros((m, n), dtype=object)
    for nb in range(n // dim):
        for i in range(m):
            c[i, nb * dim : (nb + 1) * dim] = unpack(words[nb * m + i], dim, acc_bits)
    return SimResult(c=c, cycles=cycles, a_addr=a_addr, b_addr=b_addr, c_addr=c_addr)


# ---------------------------------------------------------------- verification matrix


@dataclass(frozen=True)
class Case:
    """One verification run: a configuration, a matrix shape and the command's mode."""

    name: str
    config: dict
    shape: tuple  # M, K, N
    ws: bool = False
    accumulate: bool = True

    @property
    def dim(self) -> int:
        return self.config["meshRows"] * self.config["tileRows"]


_WIDE = dict(inputType=8, spatialArrayOutputType=20, accType=32, sp_capacity=1, acc_capacity=1)
_NARROW = dict(inputType=4, spatialArrayOutputType=10, accType=16, sp_capacity=1, acc_capacity=1)


def _config(
    mesh: int,
    tile: int,
    dataflow: str,
    widths: dict,
    sp_banks: int,
    acc_banks: int,
    tile_latency: int = 0,
    mesh_output_delay: int = 1,
) -> dict:
    return dict(
        meshRows=mesh,
        meshColumns=mesh,
        tileRows=tile,
        tileColumns=tile,
        dataflow=dataflow,
        sp_banks=sp_banks,
        acc_banks=acc_banks,
        tile_latency=tile_latency,
        mesh_output_delay=mesh_output_delay,
        **widths,
    )


def verification_cases() -> list[Case]:
    """The matrix: every dataflow (BOTH in both modes) x the 1x4, 2x2, 4x1 splits of a
    DIM=4 array (with 1, 2, 4 banks), narrow widths that overflow, pipeline latencies,
    a DIM=8 array, and non-square tiled shapes; 8x8x8 and larger force tiling."""
    cases = []
    modes = (("OS", False), ("WS", True), ("BOTH", False), ("BOTH", True))
    for df, ws in modes:
        for idx, (mesh, tile) in enumerate(((1, 4), (2, 2), (4, 1))):
            banks = (1, 2, 4)[idx]
            cfg = _config(mesh, tile, df, _WIDE, sp_banks=banks, acc_banks=(4, 2, 1)[idx])
            mode = f"{df}-{'ws' if ws else 'os'}" if df == "BOTH" else df
            cases.append(Case(f"{mode}_m{mesh}t{tile}_w8a32_sp{banks}", cfg, (8, 8, 8), ws=ws, accumulate=idx != 1))
    for df, ws in modes:
        mode = f"{df}-{'ws' if ws else 'os'}" if df == "BOTH" else df
        cfg = _config(2, 2, df, _NARROW, sp_banks=2, acc_banks=4)
        cases.append(Case(f"{mode}_m2t2_w4a16_sp2", cfg, (8, 12, 4), ws=ws))
    for tl, od in ((1, 0), (2, 2)):
        for ws in (False, True):
            cfg = _config(2, 2, "BOTH", _WIDE, sp_banks=4, acc_banks=2, tile_latency=tl, mesh_output_delay=od)
            cases.append(Case(f"BOTH-{'ws' if ws else 'os'}_m2t2_tl{tl}_od{od}", cfg, (4, 8, 12), ws=ws))
    for df, ws in modes:
        mode = f"{df}-{'ws' if ws else 'os'}" if df == "BOTH" else df
        cfg = _config(2, 4, df, dict(_WIDE, sp_capacity=4, acc_capacity=4), sp_banks=2, acc_banks=2)
        cases.append(Case(f"{mode}_dim8_m2t4_w8a32", cfg, (16, 16, 16), ws=ws))
    return cases


def case_matrices(case: Case, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random signed A, B, D over the full ranges, with rows/columns of the extremes."""
    in_bits, acc_bits = case.config["inputType"], case.config["accType"]
    lo, hi = -(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1
    m, k, n = case.shape
    rng = np.random.default_rng(zlib.crc32(case.name.encode()) + seed)
    a = rng.integers(lo, hi + 1, size=(m, k))
    b = rng.integers(lo, hi + 1, size=(k, n))
    a[0, :], b[:, 0] = lo, lo  # (-2^(w-1))^2 summed K times: overflows narrow sums
    a[-1, :], b[:, -1] = hi, lo  # max x min
    a[1, ::2], b[::3, 1] = hi, hi
    d = rng.integers(-(1 << (acc_bits - 1)), 1 << (acc_bits - 1), size=(m, n), dtype=np.int64)
    d[0, 0], d[-1, -1] = (1 << (acc_bits - 1)) - 1, -(1 << (acc_bits - 1))
    return a, b, d


def run_case(case: Case, workdir: Path) -> tuple[SimResult, np.ndarray]:
    """Simulate one case; returns the result and the reference C."""
    a, b, d = case_matrices(case)
    res = simulate(case.config, a, b, d, workdir, accumulate=case.accumulate, ws=case.ws)
    cfg = case.config
    expected = reference(a, b, d, case.dim, cfg["spatialArrayOutputType"], cfg["accType"], case.accumulate)
    return res, expected


def cycle_record(case: Case, res: SimResult) -> dict:
    """The JSON record of one case's multiply (for the performance model)."""
    cfg = case.config
    m, k, n = case.shape
    return {
        "case": case.name,
        "dim": case.dim,
        "dataflow": cfg["dataflow"],
        "mode": "WS" if case.ws or cfg["dataflow"] == "WS" else "OS",
        "meshRows": cfg["meshRows"],
        "meshColumns": cfg["meshColumns"],
        "tileRows": cfg["tileRows"],
        "tileColumns": cfg["tileColumns"],
        "inputType": cfg["inputType"],
        "spatialArrayOutputType": cfg["spatialArrayOutputType"],
        "accType": cfg["accType"],
        "sp_capacity": cfg["sp_capacity"],
        "sp_banks": cfg["sp_banks"],
        "acc_capacity": cfg["acc_capacity"],
        "acc_banks": cfg["acc_banks"],
        "tile_latency": cfg["tile_latency"],
        "mesh_output_delay": cfg["mesh_output_delay"],
        "M": m,
        "K": k,
        "N": n,
        "accumulate": case.accumulate,
        "cycles": res.cycles,
        "cycles_definition": "clock edges from the one accepting the command to the one raising done, inclusive",
    }
