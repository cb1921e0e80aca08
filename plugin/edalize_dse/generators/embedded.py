"""The embedded Gemmini-style generator: a systolic mesh rendered from the Jinja
templates in ``templates/rtl``, with Gemmini's parameter names."""

from __future__ import annotations

from pathlib import Path

from edalize_dse.generators import Generator, RtlDesign
from edalize_dse.space import is_pow2
from edalize_dse.templating import render_to

TOP = "gemmini_mesh"


class EmbeddedGemmini(Generator):
    name = "embedded"
    # Defaults follow Gemmini's defaultConfig (16x16 mesh of 1x1 tiles, int8 in, int32 acc).
    PARAMETERS = {
        "meshRows": (16, "rows of tiles"),
        "meshColumns": (16, "columns of tiles"),
        "tileRows": (1, "PE rows in a (combinational) tile"),
        "tileColumns": (1, "PE columns in a tile"),
        "inputType": (8, "bits of the signed operands (weights share it)"),
        "accType": (32, "bits of the signed accumulators"),
    }

    def violations(self, config: dict) -> list[str]:
        problems = []
        for key in self.PARAMETERS:
            value = config[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                problems.append(f"rule 'positive_integers': {key} = {value!r} must be a positive integer")
        if problems:
            return problems
        rows = config["meshRows"] * config["tileRows"]
        cols = config["meshColumns"] * config["tileColumns"]
        if rows != cols:
            problems.append(f"rule 'square_array': meshRows*tileRows = {rows} differs from "
                            f"meshColumns*tileColumns = {cols}")
        elif not is_pow2(rows):
            problems.append(f"rule 'pow2_dim': the array side {rows} is not a power of two")
        if not 2 <= config["inputType"] <= 32:
            problems.append(f"rule 'input_width': inputType = {config['inputType']} must be 2..32 bits")
        if config["accType"] < config["inputType"]:
            problems.append(f"rule 'acc_width': accType = {config['accType']} is narrower than "
                            f"inputType = {config['inputType']}")
        return problems

    @staticmethod
    def template_context(config: dict) -> dict:
        return dict(
            prefix=f"{TOP}_",
            top=TOP,
            mesh_rows=config["meshRows"],
            mesh_cols=config["meshColumns"],
            tile_rows=config["tileRows"],
            tile_cols=config["tileColumns"],
            dim=config["meshRows"] * config["tileRows"],
            in_bits=config["inputType"],
            acc_bits=config["accType"],
        )

    def generate(self, config: dict, outdir: Path) -> RtlDesign:
        ctx = self.template_context(config)
        outdir = Path(outdir)
        files = [
            render_to(outdir / f"{TOP}_pe.v", "rtl/gemmini_pe.v.j2", **ctx),
            render_to(outdir / f"{TOP}_tile.v", "rtl/gemmini_tile.v.j2", **ctx),
            render_to(outdir / f"{TOP}.v", "rtl/gemmini_mesh.v.j2", **ctx),
        ]
        dim = ctx["dim"]
        return RtlDesign(files=files, top=TOP, info={"dim": dim, "pes": dim * dim,
                                                     "in_bits": ctx["in_bits"], "acc_bits": ctx["acc_bits"]})
