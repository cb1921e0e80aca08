"""A user's own FuseSoC core as the design: no RTL is generated, the core's files
are synthesized as they are, and its top-level ``vlogparam`` parameters form the
hardware layer of the space (each point sets them, like ``fusesoc run --PARAM=v``)."""

from __future__ import annotations

from pathlib import Path

from edalize_dse.errors import DseError
from edalize_dse.generators import Generator, RtlDesign


class CoreGenerator(Generator):
    name = "core"
    DERIVED_METRICS = ()

    def __init__(self, core: dict | None = None, clock_port: str | None = None):
        if not core or not core.get("files") or not core.get("top"):
            raise DseError("generator 'core' explores a FuseSoC core's own RTL: run it through "
                           "'fusesoc run --target=<target with flow: dse>' (which passes the core's files, "
                           "toplevel and vlogparams), or give the run configuration a 'core' entry with "
                           "'files' and 'top'")
        self.core = core
        # The run option clock_port, else the core entry's own (older run configurations), else clk.
        self.clock_port = clock_port or core.get("clock") or "clk"
        self.top = core["top"]
        self.files = [Path(f) for f in core["files"]]
        missing = [str(f) for f in self.files if not f.is_file()]
        if missing:
            raise DseError(f"core file(s) not found: {', '.join(missing)}")
        params = core.get("parameters", {})
        self.PARAMETERS = {k: (v, f"vlogparam of {self.top}") for k, v in params.items()}

    def violations(self, config: dict) -> list[str]:
        problems = []
        for key, value in config.items():
            if isinstance(value, float) or not isinstance(value, (int, str, bool)):
                problems.append(f"rule 'vlogparam_type': {key} = {value!r} must be an integer, string or bool")
        return problems

    def generate(self, config: dict, outdir: Path) -> RtlDesign:
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        # The point's parameters, for the record next to the tool runs.
        (outdir / "parameters.txt").write_text("".join(f"{k} = {v!r}\n" for k, v in sorted(config.items())))
        return RtlDesign(files=list(self.files), top=self.top, parameters=dict(config),
                         defines=dict(self.core.get("defines", {})),
                         include_dirs=[Path(d) for d in self.core.get("include_dirs", [])],
                         clock_port=self.clock_port)
