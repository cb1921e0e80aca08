"""The embedded Gemmini-style generator: a systolic mesh (OS, WS or both dataflows),
a banked scratchpad and accumulator built from SRAM macros, and an execute
controller, rendered from the Jinja templates in ``templates/rtl`` with
Gemmini's parameter names (``GemminiArrayConfig``).

Arithmetic (the numpy reference in the tests implements exactly this):
operands are signed ``inputType``-bit values; a PE multiplies to a full signed
product and adds it to its partial sum (WS) or accumulator (OS) modulo
2^``spatialArrayOutputType``; each DIM-deep block result is sign-extended and
added to the accumulator row modulo 2^``accType`` (wrap, no saturation)."""

from __future__ import annotations

import math
from pathlib import Path

from edalize_dse.generators import Generator, MacroView, RtlDesign, sram
from edalize_dse.space import is_pow2
from edalize_dse.templating import render_to

TOP = "gemmini"
DATAFLOWS = ("OS", "WS", "BOTH")
BLK_BITS = 8  # command size fields, in DIM-row blocks


def bits_for(n: int) -> int:
    """Bits of an unsigned counter holding 0..n."""
    return max(1, int(n).bit_length())


def sp_bank_entries(config: dict) -> float:
    dim = config["meshRows"] * config["tileRows"]
    return config["sp_capacity"] * 8192 / (config["sp_banks"] * dim * config["inputType"])


def acc_bank_entries(config: dict) -> float:
    dim = config["meshRows"] * config["tileRows"]
    return config["acc_capacity"] * 8192 / (config["acc_banks"] * dim * config["accType"])


class EmbeddedGemmini(Generator):
    name = "embedded"
    # Defaults follow Gemmini's defaultConfig (16x16 mesh of 1x1 tiles, both dataflows,
    # int8 inputs, 20-bit spatial outputs, int32 accumulators, 256 KiB / 4-bank scratchpad,
    # 64 KiB / 2-bank accumulator, tile_latency 0, mesh_output_delay 1).
    PARAMETERS = {
        "meshRows": (16, "rows of tiles"),
        "meshColumns": (16, "columns of tiles"),
        "tileRows": (1, "PE rows in a (combinational) tile"),
        "tileColumns": (1, "PE columns in a tile"),
        "dataflow": ("BOTH", "OS, WS, or BOTH (chosen per command at run time)"),
        "inputType": (8, "bits of the signed operands (weights share it)"),
        "accType": (32, "bits of the signed accumulator entries"),
        "spatialArrayOutputType": (20, "bits of the PE partial sums / OS accumulators"),
        "sp_capacity": (256, "scratchpad KiB"),
        "sp_banks": (4, "scratchpad banks (one SRAM macro each)"),
        "acc_capacity": (64, "accumulator KiB"),
        "acc_banks": (2, "accumulator banks (one SRAM macro each)"),
        "tile_latency": (0, "extra register stages between tiles (tile_latency + 1 in all)"),
        "mesh_output_delay": (1, "register stages on the mesh outputs"),
    }
    _POSITIVE = (
        "meshRows",
        "meshColumns",
        "tileRows",
        "tileColumns",
        "inputType",
        "accType",
        "spatialArrayOutputType",
        "sp_capacity",
        "sp_banks",
        "acc_capacity",
        "acc_banks",
    )
    _NON_NEGATIVE = ("tile_latency", "mesh_output_delay")

    def violations(self, config: dict) -> list[str]:
        problems = []
        for key in self._POSITIVE + self._NON_NEGATIVE:
            value, low = config[key], 1 if key in self._POSITIVE else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                kind = "positive" if low else "non-negative"
                problems.append(f"rule '{kind}_integers': {key} = {value!r} must be a {kind} integer")
        if config["dataflow"] not in DATAFLOWS:
            problems.append(f"rule 'dataflow': dataflow = {config['dataflow']!r} must be one of {', '.join(DATAFLOWS)}")
        if problems:
            return problems
        rows = config["meshRows"] * config["tileRows"]
        cols = config["meshColumns"] * config["tileColumns"]
        if rows != cols:
            problems.append(
                f"rule 'square_array': meshRows*tileRows = {rows} differs from meshColumns*tileColumns = {cols}"
            )
            return problems
        if not is_pow2(rows):
            problems.append(f"rule 'pow2_dim': the array side {rows} is not a power of two")
            return problems
        in_bits, out_bits, acc_bits = config["inputType"], config["spatialArrayOutputType"], config["accType"]
        if not 2 <= in_bits <= 32:
            problems.append(f"rule 'input_width': inputType = {in_bits} must be 2..32 bits")
        if acc_bits < in_bits:
            problems.append(f"rule 'acc_width': accType = {acc_bits} is narrower than inputType = {in_bits}")
        elif not in_bits <= out_bits <= acc_bits:
            problems.append(
                f"rule 'output_width': spatialArrayOutputType = {out_bits} must lie between "
                f"inputType = {in_bits} and accType = {acc_bits}"
            )
        dim = rows
        sp = sp_bank_entries(config)
        if not float(sp).is_integer() or not is_pow2(int(sp)):
            problems.append(
                f"rule 'sp_bank_entries_pow2': sp_capacity*8192/(sp_banks*DIM*inputType) = "
                f"{config['sp_capacity']}*8192/({config['sp_banks']}*{dim}*{in_bits}) = {sp:g} "
                "rows per scratchpad bank is not a power of two"
            )
        elif int(sp) % dim:
            problems.append(
                f"rule 'sp_bank_entries_dim': {int(sp)} rows per scratchpad bank is not divisible by DIM = {dim}"
            )
        acc = acc_bank_entries(config)
        if not float(acc).is_integer():
            problems.append(
                f"rule 'acc_bank_entries_integral': acc_capacity*8192/(acc_banks*DIM*accType) = "
                f"{config['acc_capacity']}*8192/({config['acc_banks']}*{dim}*{acc_bits}) = "
                f"{acc:g} rows per accumulator bank is not a whole number"
            )
        elif int(acc) % dim:
            problems.append(
                f"rule 'acc_bank_entries_dim': {int(acc)} rows per accumulator bank is not divisible by DIM = {dim}"
            )
        return problems

    @staticmethod
    def template_context(config: dict) -> dict:
        dim = config["meshRows"] * config["tileRows"]
        df = config["dataflow"]
        in_bits, out_bits, acc_bits = config["inputType"], config["spatialArrayOutputType"], config["accType"]
        mesh_rows, mesh_cols = config["meshRows"], config["meshColumns"]
        tile_rows, tile_cols = config["tileRows"], config["tileColumns"]
        stages = config["tile_latency"] + 1
        out_delay = config["mesh_output_delay"]
        sp_entries, acc_entries = int(sp_bank_entries(config)), int(acc_bank_entries(config))
        sp_rows, acc_rows = sp_entries * config["sp_banks"], acc_entries * config["acc_banks"]
        sched = schedule(config)
        t_max = max(2 * dim, sched["os_len"], sched["ws_len"])
        ctx = dict(
            prefix=f"{TOP}_",
            top=TOP,
            dataflow=df,
            dim=dim,
            log_dim=int(math.log2(dim)),
            mesh_rows=mesh_rows,
            mesh_cols=mesh_cols,
            tile_rows=tile_rows,
            tile_cols=tile_cols,
            in_bits=in_bits,
            out_bits=out_bits,
            acc_bits=acc_bits,
            v_bits=in_bits if df == "OS" else out_bits,
            c_bits=in_bits if df == "WS" else out_bits,
            stages=stages,
            out_delay=out_delay,
            sp_banks=config["sp_banks"],
            sp_entries=sp_entries,
            sp_width=dim * in_bits,
            acc_banks=config["acc_banks"],
            acc_entries=acc_entries,
            acc_width=dim * acc_bits,
            sp_addr_bits=bits_for(sp_rows - 1),
            acc_addr_bits=bits_for(acc_rows - 1),
            mem_addr_bits=max(bits_for(sp_rows - 1), bits_for(acc_rows - 1)),
            blk_bits=BLK_BITS,
            t_bits=bits_for(t_max) + 1,
            os_a_skew_doc=f"(i / {tile_rows}) * {stages}",
            os_b_skew_doc=f"(j / {tile_cols}) * {stages}",
            ws_a_doc=f"{dim} + i + (k / {tile_rows}) * {stages}",
            ws_cap_doc=f"{dim} + i + {(mesh_rows - 1) * stages + out_delay} + (j / {tile_cols} + 1) * {stages}",
            **sched,
        )
        return ctx

    def generate(self, config: dict, outdir: Path) -> RtlDesign:
        ctx = self.template_context(config)
        outdir = Path(outdir)
        model = sram.platform_model()
        macros, sim_files, mem_files = [], [], []
        for what, kind, banks, entries, width in (
            ("Scratchpad", "spad", ctx["sp_banks"], ctx["sp_entries"], ctx["sp_width"]),
            ("Accumulator", "acc", ctx["acc_banks"], ctx["acc_entries"], ctx["acc_width"]),
        ):
            macro = sram.macro_name(entries, width)
            if macro not in {m.name for m in macros}:
                lib, model_v = sram.write_macro(model, entries, width, outdir / "macros")
                macros.append(
                    MacroView(name=macro, liberty=lib, lef=sram.write_lef(model, entries, width, outdir / "macros"))
                )
                sim_files.append(model_v)
            mem_files.append(
                render_to(
                    outdir / f"{TOP}_{kind}.v",
                    "rtl/gemmini_banked_mem.v.j2",
                    **ctx,
                    what=what,
                    module=f"{TOP}_{kind}",
                    banks=banks,
                    entries=entries,
                    width=width,
                    macro=macro,
                    addr_bits=ctx["sp_addr_bits" if kind == "spad" else "acc_addr_bits"],
                    macro_addr_bits=sram.addr_bits(entries),
                )
            )
        files = [
            render_to(outdir / f"{TOP}_pe.v", "rtl/gemmini_pe.v.j2", **ctx),
            render_to(outdir / f"{TOP}_tile.v", "rtl/gemmini_tile.v.j2", **ctx),
            render_to(outdir / f"{TOP}_mesh.v", "rtl/gemmini_mesh.v.j2", **ctx),
            *mem_files,
            render_to(outdir / f"{TOP}.v", "rtl/gemmini.v.j2", **ctx),
        ]
        dim = ctx["dim"]
        info = {
            "dim": dim,
            "pes": dim * dim,
            "in_bits": ctx["in_bits"],
            "acc_bits": ctx["acc_bits"],
            "out_bits": ctx["out_bits"],
            "dataflow": ctx["dataflow"],
            "sp_banks": ctx["sp_banks"],
            "sp_bank_rows": ctx["sp_entries"],
            "sp_row_bits": ctx["sp_width"],
            "acc_banks": ctx["acc_banks"],
            "acc_bank_rows": ctx["acc_entries"],
            "acc_row_bits": ctx["acc_width"],
            "macro_model_area_um2": sum(
                model.area(e, w) * b
                for b, e, w in (
                    (ctx["sp_banks"], ctx["sp_entries"], ctx["sp_width"]),
                    (ctx["acc_banks"], ctx["acc_entries"], ctx["acc_width"]),
                )
            ),
        }
        return RtlDesign(files=files, top=TOP, info=info, macros=macros, sim_files=sim_files)


def schedule(config: dict) -> dict:
    """The execute controller's fixed per-block schedule (cycles of its COMP phase),
    from the mesh's register stages; also the cycle model of one command."""
    dim = config["meshRows"] * config["tileRows"]
    s = config["tile_latency"] + 1
    d = config["mesh_output_delay"]
    mr = config["meshRows"]
    tr, tc = config["tileRows"], config["tileColumns"]
    # The shift (and ws) control reaches tile column c (c + 1) * s cycles after the controller.
    # OS: A[i][k] enters lane i at k + skew_i, B[k][j] column j at k + skew_j; the last
    # operands of tile column c arrive at dim - 1 + (meshRows - 1 + c + 1) * s, so the
    # controller starts the drain at os_drain and column j's rows leave from os_cap_at[j].
    os_drain = dim + (mr - 1) * s
    os_cap_at = [os_drain + (j // tc + 1) * s + d for j in range(dim)]
    os_len = max(os_cap_at) + dim
    # WS: shift for dim cycles from t = 0 (column j loads its weights from ws_c_at[j]),
    # then A[i][k] enters lane k at dim + i + skew_k; column j shows C[i][j] at
    # ws_cap_at[j] + i, after the psum has crossed every tile row.
    ws_cap_at = [dim + (mr - 1) * s + (j // tc + 1) * s + d for j in range(dim)]
    ws_len = max(ws_cap_at) + dim
    return dict(
        os_a_at=[(i // tr) * s for i in range(dim)],
        os_b_at=[(j // tc) * s for j in range(dim)],
        os_drain=os_drain,
        os_cap_at=os_cap_at,
        os_len=os_len,
        ws_c_at=[(j // tc + 1) * s for j in range(dim)],
        ws_a_at=[dim + (k // tr) * s for k in range(dim)],
        ws_cap_at=ws_cap_at,
        ws_len=ws_len,
    )


def command_cycles(config: dict, m_blocks: int, k_blocks: int, n_blocks: int, ws: bool) -> int:
    """Cycles from the accepted command to ``done`` (the controller's fixed schedule):
    per block LOAD (2*DIM+1) + COMP + WB (2*DIM)."""
    dim = config["meshRows"] * config["tileRows"]
    sched = schedule(config)
    comp = sched["ws_len"] if ws else sched["os_len"]
    return m_blocks * k_blocks * n_blocks * (2 * dim + 1 + comp + 2 * dim) + 1
