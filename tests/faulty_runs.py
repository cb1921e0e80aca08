"""Helpers of the fault tests: a user core whose synthesis really hangs (Yosys opens an
`include that is a named pipe nobody writes: it blocks in open(), using no CPU), a tiny
core that synthesizes in a second, and ways to run and watch `edalize-dse run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

TOGGLE_RTL = """module toggle #(parameter W = 2) (input clk, input [W-1:0] d, output reg [W-1:0] q);
  always @(posedge clk) q <= q ^ d;
endmodule
"""


def tiny_core(folder: Path, hang: bool = False) -> dict:
    """The ``core`` entry of a run configuration (generator 'core'); with ``hang`` its
    RTL includes a FIFO, so Yosys blocks for ever reading it in synthesis."""
    folder.mkdir(parents=True, exist_ok=True)
    rtl = folder / "toggle.v"
    text = TOGGLE_RTL
    if hang:
        fifo = folder / "never_written.vh"
        if not fifo.exists():
            os.mkfifo(fifo)
        # Only synthesis hangs: the interface check before the first point skips the include.
        text = f'`ifndef EDALIZE_DSE_INTERFACE\n`include "{fifo}"\n`endif\n' + text
    rtl.write_text(text)
    return {"top": "toggle", "files": [str(rtl)], "parameters": {"W": 2}}


def tiny_space(folder: Path, widths=(2,)) -> Path:
    path = folder / "space.yml"
    path.write_text(
        "parameters:\n"
        f"  W: {{layer: hardware, type: choice, choices: {list(widths)}, default: {widths[0]}}}\n"
        "objectives:\n  - {name: area_um2, goal: min}\n  - {name: fmax_mhz, goal: max}\n"
    )
    return path


def fusesoc_core(folder: Path, hang: bool = True) -> Path:
    """A FuseSoC core (name test:fault:toggle) of the tiny core and space with a ``dse``
    target of one point; returns its cores root."""
    core = tiny_core(folder / "core", hang=hang)
    tiny_space(folder / "core")
    (folder / "core" / "toggle.core").write_text(f"""CAPI=2:
name: test:fault:toggle:0.1.0
filesets:
  rtl: {{files: [toggle.v], file_type: verilogSource}}
  space: {{files: [space.yml: {{file_type: dseSpace}}]}}
parameters:
  W: {{datatype: int, default: {core["parameters"]["W"]}, paramtype: vlogparam}}
targets:
  dse:
    filesets: [rtl, space]
    flow: dse
    toplevel: toggle
    parameters: [W]
    flow_options: {{generator: core, budget: 1, workers: 1, strategy: random, cache_dir: 'off'}}
""")
    return folder / "core"


def run_config(folder: Path, output: Path, hang: bool = False, widths=(2,), **options) -> Path:
    """A run configuration file for ``edalize-dse run --config``."""
    flow = {"generator": "core", "core": tiny_core(folder / "core", hang), "cache_dir": "off"}
    for key in ("tool_timeout", "cache_dir"):
        if key in options:
            flow[key] = options.pop(key)
    doc = {
        "run": {
            "space": str(tiny_space(folder, widths)),
            "output": str(output),
            "budget": len(widths),
            **{k: options.pop(k) for k in ("budget",) if k in options},
        },
        "flow": flow,
        "strategy": {"strategy": "random"},
        "executor": {"workers": options.pop("workers", 1)},
    }
    assert not options, options
    path = folder / f"run-{output.name}.json"
    path.write_text(json.dumps(doc))
    return path


def one_error_line(stderr: str) -> str:
    """The one ``edalize-dse:`` line a failed or stopped run prints (asserts there is just that)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert len(lines) == 1, stderr[-3000:]
    assert lines[0].startswith("edalize-dse: "), lines
    return lines[0]


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "edalize_dse", *args]


def start(cmd: list[str], cwd: Path) -> subprocess.Popen:
    """Start a command in its own session (its own process group, as a shell job is)."""
    return subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def processes_in(folder: Path) -> list[tuple[int, str]]:
    """(pid, command line) of every process whose working directory is under ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd == str(folder) or cwd.startswith(str(folder) + "/"):
            found.append((int(entry.name), cmdline))
    return found


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def synthesis_running(folder: Path):
    """The pid of a pyosys step running under ``folder`` (the hung synthesis), if any."""
    for pid, cmdline in processes_in(folder):
        if "pyosys_main synth.ys" in cmdline:
            return pid
    return None


def kill_all_in(folder: Path) -> None:
    """Clean-up of a test that failed half-way: nothing it started keeps running."""
    for pid, _ in processes_in(folder):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
