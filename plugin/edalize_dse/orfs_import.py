"""``edalize-dse import-orfs``: an OpenROAD-flow-scripts design as a FuseSoC core and a
design-space file that ``fusesoc run --target=dse`` explores.

The design's ``config.mk`` is evaluated by GNU make itself (wildcards, ``?=``/``+=``,
``ifeq ($(FLOW_VARIANT),...)`` blocks behave exactly as in ORFS), with ``DESIGN_HOME``,
``PLATFORM_DIR`` and ``FLOW_VARIANT`` set as ORFS sets them. Two layouts are understood:

- an ORFS tree, ``<DESIGN_HOME>/<platform>/<nickname>/config.mk`` beside ``<DESIGN_HOME>/src``;
- a design folder that holds its RTL in ``src/`` next to ``config.mk`` (a copy taken out of
  ORFS): each ``$(DESIGN_HOME)/src/<dir>`` the file names is the folder's ``src/``, and
  each ``$(DESIGN_HOME)/<platform>/<dir>`` the folder itself.

The space comes from the design's AutoTuner ``autotuner.json`` when there is one
(``_SDC_CLK_PERIOD`` becomes the clock knob; place-and-route variables are kept for a
fidelity with ORFS), else the zero-configuration space around the SDC's clock."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from edalize_dse import sdc
from edalize_dse.errors import DseError

# Variables of ORFS's own that the importer sets before reading config.mk.
_OURS = {"DESIGN_HOME", "PLATFORM_DIR", "FLOW_HOME", "WORK_HOME", "DSE_ASSIGNED"}
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+|override\s+)*([A-Za-z_]\w*)\s*(?::|::|\?|\+|!)?=", re.MULTILINE)
# $(DESIGN_HOME)/<dir>/<dir>, each folder a plain name or one make variable.
_SEGMENT = r"(\$[({]\w+[)}]|[\w.+-]+)"
_DESIGN_HOME_REF = re.compile(r"\$[({]DESIGN_HOME[)}]/" + _SEGMENT + "/" + _SEGMENT)
HDL_SUFFIXES = {
    ".v": "verilogSource",
    ".vh": "verilogSource",
    ".sv": "systemVerilogSource",
    ".svh": "systemVerilogSource",
}
# AutoTuner variables the synth flow has a knob for.
_SYNTH_KNOBS = {"_SDC_CLK_PERIOD": "clock_period_ps", "ABC_LOAD_IN_FF": "ABC_LOAD_IN_FF"}
OBJECTIVES = (("area_um2", "min"), ("power_mw", "min"), ("fmax_mhz", "max"))


@dataclass
class OrfsDesign:
    """What the importer read from one config.mk."""

    config: Path
    variables: dict
    name: str
    top: str
    verilog_files: list[Path]
    include_dirs: list[Path]
    defines: dict
    parameters: dict
    sdc: Path
    macro_libs: list[Path] = field(default_factory=list)
    macro_lefs: list[Path] = field(default_factory=list)
    frontend: str = ""  # "slang" for ORFS's SystemVerilog frontend
    abc_area: bool = False
    corner: str = ""


def _make(makefile: Path, cwd: Path, flow_variant: str | None) -> dict:
    cmd = ["make", "--no-print-directory", "-s", "-f", str(makefile), "-C", str(cwd)]
    if flow_variant:
        cmd.append(f"FLOW_VARIANT={flow_variant}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    except FileNotFoundError:
        raise DseError(
            "GNU make not found on PATH: import-orfs evaluates config.mk with it (apt-get install make)"
        ) from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise DseError(f"make cannot read the config.mk ({last})")
    values = {}
    for line in done.stdout.splitlines():
        if line.startswith("DSEVAR "):
            name, _, value = line[len("DSEVAR ") :].partition("=")
            values[name] = value.strip()
    return values


def _makefile(config: Path, design_home: Path, platform_dir: Path, body: list[str]) -> str:
    work = design_home.parent / "work"
    """A makefile that reads ``config`` as ORFS does, then ``body`` (lines that print)."""
    # ORFS defines these before (DESIGN_HOME, PLATFORM_DIR) or after (DESIGN_NICKNAME)
    # it includes the design's config; recursively expanded values see them either way.
    head = [
        f"DESIGN_HOME := {design_home}",
        f"FLOW_HOME := {design_home.parent}",
        f"PLATFORM_DIR = {platform_dir}",
        f"WORK_HOME := {work}",
        f"include {config}",
        "DESIGN_NICKNAME ?= $(DESIGN_NAME)",
        "FLOW_VARIANT ?= base",
    ]
    return "\n".join(head + body + [".PHONY: all", "all: ; @:"]) + "\n"


def _print_variables(assigned: list[str]) -> list[str]:
    """Every variable the file set, and those it only defaults with ?= that the environment has."""
    return [
        f"DSE_ASSIGNED := {' '.join(assigned)}",
        "$(foreach v,$(sort $(.VARIABLES)),$(if $(or $(filter file command line,$(origin $(v))),"
        "$(filter $(v),$(DSE_ASSIGNED))),$(info DSEVAR $(v)=$($(v)))))",
    ]


def evaluate_config(config_mk, flow_variant: str | None = None, platform_dir: Path | None = None) -> dict:
    """The variables ``config_mk`` sets, as ORFS's make sees them (file paths resolved
    onto the real files). Raises DseError naming the file."""
    config = Path(config_mk).expanduser().resolve()
    if not config.is_file():
        raise DseError(f"ORFS design config {config_mk} not found")
    platform_dir = platform_dir or _platform_dir()
    text = config.read_text(errors="replace")
    with tempfile.TemporaryDirectory(prefix="edalize-dse-orfs-") as tmp:
        tmp = Path(tmp)
        tree_home = config.parent.parent.parent
        if (tree_home / "src").is_dir() and not (config.parent / "src").is_dir():
            home = tree_home  # an ORFS tree: designs/<platform>/<nickname>/config.mk
        else:
            home = _flat_design_home(config, text, tmp, platform_dir, flow_variant)
        makefile = tmp / "dse-import.mk"
        assigned = sorted(set(_ASSIGNMENT.findall(text)))
        makefile.write_text(_makefile(config, home, platform_dir, _print_variables(assigned)))
        values = _make(makefile, config.parent, flow_variant)
        for key in _OURS:
            values.pop(key, None)
        # Paths through the stand-in DESIGN_HOME's links, onto the real files.
        prefix = str(home) + "/"
        for key, value in values.items():
            if prefix in value:
                values[key] = " ".join(os.path.realpath(w) if w.startswith(prefix) else w for w in value.split())
    return values


def _flat_design_home(config: Path, text: str, tmp: Path, platform_dir: Path, flow_variant) -> Path:
    """A stand-in DESIGN_HOME for a design folder taken out of ORFS: links named as the
    config.mk names its folders, onto the folder (and its ``src/``)."""
    home = tmp / "designs"
    home.mkdir()
    refs = sorted(set(_DESIGN_HOME_REF.findall(text)))
    if not refs:
        return home
    # The folder names may be make expressions ($(DESIGN_NICKNAME), $(PLATFORM)): let make expand them.
    probe = tmp / "probe.mk"
    probe.write_text(
        _makefile(
            config,
            home,
            platform_dir,
            [f"$(info DSEVAR ref{i}={first} {second})" for i, (first, second) in enumerate(refs)],
        )
    )
    expanded = _make(probe, config.parent, flow_variant)
    src = config.parent / "src"
    for i in range(len(refs)):
        parts = expanded.get(f"ref{i}", "").split()
        if len(parts) != 2 or "/" in parts[0] or "/" in parts[1] or parts[1] in (".", ".."):
            continue
        first, second = parts
        link = home / first / second
        target = src if first == "src" else config.parent
        if not link.exists() and target.is_dir():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(target, target_is_directory=True)
    return home


def _platform_dir() -> Path:
    from edalize_dse.platform import find_platform

    try:
        return find_platform().root
    except DseError:
        return Path(os.environ.get("FLOW_HOME", "/nonexistent")) / "platforms" / "asap7"


def _words(values: dict, name: str) -> list[str]:
    return values.get(name, "").split()


def _param_value(text: str):
    try:
        return int(text, 0)
    except ValueError:
        return text


def read_design(config_mk, flow_variant: str | None = None) -> OrfsDesign:
    """The design ``config_mk`` describes. Raises DseError naming what is missing."""
    config = Path(config_mk).expanduser().resolve()
    values = evaluate_config(config, flow_variant)
    top = values.get("DESIGN_NAME")
    if not top:
        raise DseError(f"{config}: DESIGN_NAME is not set")
    platform = values.get("PLATFORM", "")
    if platform and platform != "asap7":
        raise DseError(f"{config}: PLATFORM = {platform}; edalize-dse's flows run on asap7 only")
    name = values.get("DESIGN_NICKNAME") or top
    files = [Path(f) for f in _words(values, "VERILOG_FILES")]
    if not files:
        raise DseError(f"{config}: VERILOG_FILES names no file (a wildcard that matched nothing?)")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise DseError(f"{config}: VERILOG_FILES names missing file(s): {', '.join(missing[:3])}")
    includes = [Path(d) for d in _words(values, "VERILOG_INCLUDE_DIRS")]
    bad = [str(d) for d in includes if not d.is_dir()]
    if bad:
        raise DseError(f"{config}: VERILOG_INCLUDE_DIRS names missing folder(s): {', '.join(bad)}")
    sdc_file = values.get("SDC_FILE")
    if not sdc_file or not Path(sdc_file).is_file():
        raise DseError(f"{config}: SDC_FILE {sdc_file or '(not set)'} not found")
    words = _words(values, "VERILOG_TOP_PARAMS")
    if len(words) % 2:
        raise DseError(f"{config}: VERILOG_TOP_PARAMS must be NAME VALUE pairs, got {values['VERILOG_TOP_PARAMS']!r}")
    parameters = {words[i]: _param_value(words[i + 1]) for i in range(0, len(words), 2)}
    defines = {}
    for word in _words(values, "VERILOG_DEFINES"):
        if word.startswith("-D") and len(word) > 2:
            key, _, value = word[2:].partition("=")
            defines[key] = _param_value(value) if value else True
    libs = [Path(p) for p in _words(values, "ADDITIONAL_LIBS")]
    lefs = [Path(p) for p in _words(values, "ADDITIONAL_LEFS")]
    absent = [str(p) for p in libs + lefs if not p.is_file()]
    if absent:
        raise DseError(
            f"{config}: macro view(s) not found: {', '.join(absent)} (ADDITIONAL_LIBS/ADDITIONAL_LEFS; "
            "is ASAP7_PLATFORM_DIR or FLOW_HOME set?)"
        )
    return OrfsDesign(
        config=config,
        variables=values,
        name=re.sub(r"\W+", "_", name),
        top=top,
        verilog_files=files,
        include_dirs=includes,
        defines=defines,
        parameters=parameters,
        sdc=Path(sdc_file),
        macro_libs=libs,
        macro_lefs=lefs,
        frontend=values.get("SYNTH_HDL_FRONTEND", ""),
        abc_area=values.get("ABC_AREA", "0") not in ("", "0"),
        corner=values.get("CORNER", ""),
    )


# ---- the design space
def autotuner_space(path: Path, sdc_period: float, abc_area: bool) -> tuple[dict, list[str]]:
    """Space parameters from an AutoTuner JSON: (parameters, AutoTuner names left out
    because the synth flow has no such knob, for the file's comment)."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise DseError(f"AutoTuner file {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise DseError(f"AutoTuner file {path}: expected a JSON object of variables")
    parameters, skipped = {}, []
    for name, spec in doc.items():
        if not isinstance(spec, dict):
            continue  # _SDC_FILE_PATH and similar settings
        knob = _SYNTH_KNOBS.get(name)
        if knob is None:
            skipped.append(name)
            continue
        parameters[knob] = _autotuner_parameter(name, spec, path, sdc_period if name == "_SDC_CLK_PERIOD" else None)
    parameters.update(_abc_choice(abc_area))
    return parameters, skipped


def _autotuner_parameter(name: str, spec: dict, path: Path, default=None) -> dict:
    kind = str(spec.get("type", ""))
    if "minmax" in spec:
        low, high = spec["minmax"]
    elif "min" in spec and "max" in spec:
        low, high = spec["min"], spec["max"]
    else:
        raise DseError(f"AutoTuner file {path}: {name} has no minmax (or min/max)")
    step = spec.get("step", 0) or 0
    if low > high:
        raise DseError(f"AutoTuner file {path}: {name} minmax [{low}, {high}] is empty")
    description = f"AutoTuner {name} [{low}, {high}]" + (f" step {step}" if step else "")
    if kind in ("int", "range_int"):
        param = {"layer": "eda", "type": "int", "low": int(low), "high": int(high), "step": max(1, int(step))}
        start = int(low)
    elif kind in ("float", "range_float"):
        if step:
            count = int(round((high - low) / step)) + 1
            values = sorted({round(low + i * step, 9) for i in range(count)})
            param = {"layer": "eda", "type": "choice", "choices": values}
            start = values[0]
        else:
            param = {"layer": "eda", "type": "float", "low": float(low), "high": float(high)}
            start = float(low)
    else:
        raise DseError(f"AutoTuner file {path}: {name} has type {kind!r} (expected int or float)")
    if default is not None and low <= default <= high:
        start = default if param["type"] != "int" else int(default)
    if param["type"] == "choice" and start not in param["choices"]:
        start = param["choices"][0]
    param["default"] = start
    param["description"] = description
    return param


def _abc_choice(abc_area: bool) -> dict:
    first = "area" if abc_area else "speed"
    return {
        "abc_script": {
            "layer": "eda",
            "type": "choice",
            "choices": [first, "speed" if abc_area else "area"],
            "default": first,
            "description": f"ABC script (config.mk ABC_AREA = {int(abc_area)} is '{first}')",
        }
    }


def zero_config_space(design: OrfsDesign, period: float) -> dict:
    """Without an AutoTuner file: the core's integer parameters around their values and
    the clock around the SDC's (as default_space does for any core)."""
    from edalize_dse import default_space
    from edalize_dse.flows import get_flow

    doc = default_space.default_space(design.name, design.parameters, get_flow("synth"), clock_ps=period)
    doc["parameters"].update(_abc_choice(design.abc_area))
    return doc["parameters"]


def write_import(design: OrfsDesign, to: Path, link: bool = False) -> tuple[Path, Path]:
    """Write ``<to>/<name>/<name>.core`` and ``<name>_space.yml``; return both paths."""
    folder = Path(to).expanduser().resolve() / design.name
    folder.mkdir(parents=True, exist_ok=True)
    period = sdc.base_period(sdc.read(design.sdc), str(design.sdc))
    tuner = design.config.parent / "autotuner.json"
    skipped = []
    if tuner.is_file():
        parameters, skipped = autotuner_space(tuner, period, design.abc_area)
        source = f"AutoTuner space {tuner}"
    else:
        parameters = zero_config_space(design, period)
        source = "zero-configuration space (no autotuner.json beside the config.mk)"
    space = {
        "name": f"{design.name}_orfs",
        "description": f"imported from {design.config} ({source})",
        "parameters": parameters,
        "objectives": [{"name": n, "goal": g} for n, g in OBJECTIVES],
    }
    space_path = folder / f"{design.name}_space.yml"
    header = [
        f"# Design space of the ORFS design {design.name}, written by 'edalize-dse import-orfs'",
        f"# from {source}.",
    ]
    if skipped:
        header.append(
            f"# AutoTuner variables of place and route, left out (the synth flow has no such knob): "
            f"{', '.join(skipped)}."
        )
    space_path.write_text("\n".join(header) + "\n" + yaml.safe_dump(space, sort_keys=False, width=110))
    core_path = folder / f"{design.name}.core"
    core_path.write_text(_core_text(design, folder, space_path, link))
    return core_path, space_path


class _Files:
    """Where the design's files go inside the core's folder (FuseSoC reads only files below
    a core file): the RTL and include folders keep their layout under ``rtl/``, the SDC
    goes to ``constraints/``, macro views to ``macros/``. Copied, or linked with ``link``."""

    def __init__(self, design: OrfsDesign, folder: Path, link: bool):
        self.folder, self.link = folder, link
        hdl = [f.resolve() for f in design.verilog_files] + [d.resolve() for d in design.include_dirs]
        self.rtl_root = Path(os.path.commonpath([str(p if p.is_dir() else p.parent) for p in hdl]))

    def place(self, path: Path, where: str | None = None) -> str:
        path = Path(path).resolve()
        rel = Path("rtl") / path.relative_to(self.rtl_root) if where is None else Path(where) / path.name
        dest = self.folder / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.is_symlink() or dest.exists():
            dest.unlink()
        if self.link:
            dest.symlink_to(path)
        else:
            shutil.copyfile(path, dest)
        return str(rel)

    def folder_of(self, path: Path) -> str:
        return str(Path("rtl") / Path(path).resolve().relative_to(self.rtl_root))


def _core_text(design: OrfsDesign, folder: Path, space_path: Path, link: bool) -> str:
    files = _Files(design, folder, link)
    rtl = []
    for f in design.verilog_files:
        file_type = HDL_SUFFIXES.get(f.suffix, "verilogSource")
        if design.frontend == "slang":
            file_type = "systemVerilogSource"
        rtl.append({files.place(f): {"file_type": file_type}})
    includes = []
    for d in design.include_dirs:
        headers = sorted(p for p in d.iterdir() if p.is_file() and p.suffix in HDL_SUFFIXES)
        for h in headers:
            includes.append(
                {
                    files.place(h): {
                        "file_type": HDL_SUFFIXES[h.suffix],
                        "is_include_file": True,
                        "include_path": files.folder_of(d),
                    }
                }
            )
    filesets = {"rtl": {"files": rtl}}
    if includes:
        filesets["includes"] = {"files": includes}
    filesets["constraints"] = {"files": [{files.place(design.sdc, "constraints"): {"file_type": "SDC"}}]}
    if design.macro_libs or design.macro_lefs:
        filesets["macros"] = {
            "files": [{files.place(p, "macros"): {"file_type": "liberty"}} for p in design.macro_libs]
            + [{files.place(p, "macros"): {"file_type": "LEF"}} for p in design.macro_lefs]
        }
    filesets["space"] = {"files": [{space_path.name: {"file_type": "dseSpace"}}]}
    params = {}
    for key, value in design.parameters.items():
        params[key] = {
            "datatype": "int" if isinstance(value, int) else "str",
            "default": value,
            "paramtype": "vlogparam",
            "description": "config.mk VERILOG_TOP_PARAMS",
        }
    for key, value in design.defines.items():
        params[key] = {
            "datatype": "int" if isinstance(value, int) and not isinstance(value, bool) else "bool",
            "default": value,
            "paramtype": "vlogdefine",
            "description": "config.mk VERILOG_DEFINES",
        }
    flow_options = {"generator": "core"}
    if design.frontend == "slang":
        flow_options["frontend"] = "slang"
    target = {
        "description": f"Explore {design.name} (imported from ORFS) with the dse flow",
        "filesets": list(filesets),
        "flow": "dse",
        "toplevel": design.top,
        "flow_options": flow_options,
    }
    if params:
        target["parameters"] = list(params)
    core = {
        "name": f"orfs:asap7:{design.name}:0",
        "description": f"ORFS design {design.name} imported from {design.config}",
        "filesets": filesets,
    }
    if params:
        core["parameters"] = params
    core["targets"] = {
        "default": {"filesets": [k for k in filesets if k != "space"], "toplevel": design.top},
        "dse": target,
    }
    return "CAPI=2:\n" + yaml.safe_dump(core, sort_keys=False, width=110)


def import_orfs(
    config_mk, to=".", flow_variant: str | None = None, link: bool = False
) -> tuple[Path, Path, OrfsDesign]:
    """Read ``config_mk`` and write its core and space under ``to``; returns (core, space, design)."""
    design = read_design(config_mk, flow_variant)
    core, space = write_import(design, Path(to), link)
    return core, space, design
