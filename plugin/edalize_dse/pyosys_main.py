"""Run a Yosys script with pyosys in its own process: ``python -m edalize_dse.pyosys_main SCRIPT``.

A separate process gives each synthesis its own log, timeout and memory, and
keeps a crash inside Yosys from taking the exploration down."""

import sys


def yosys_version() -> str:
    from pyosys import libyosys as ys

    return ys.yosys_maybe_version().split(" (")[0]


def interface(script: str, out: str) -> int:
    """Run ``script`` (read + elaborate) and write the top module's ports and
    parameters to ``out`` as JSON: what a core's run is checked against."""
    import json

    from pyosys import libyosys as ys

    design = ys.Design()
    ys.run_pass(f"script {script}", design)
    top = design.top_module()
    if top is None:
        print("ERROR: no top module after elaboration", flush=True)
        return 1
    ports = []
    for name in top.ports:
        wire = top.wire(name)
        direction = "inout" if wire.port_input and wire.port_output else "input" if wire.port_input else "output"
        ports.append({"name": name.str().lstrip("\\"), "direction": direction, "width": wire.width})
    doc = {
        "top": top.name.str().lstrip("\\"),
        "ports": ports,
        "parameters": [p.str().lstrip("\\") for p in top.avail_parameters],
    }
    with open(out, "w") as fh:
        json.dump(doc, fh)
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--version"]:
        print(yosys_version())
        return 0
    if len(argv) == 3 and argv[0] == "--interface":
        return interface(argv[1], argv[2])
    if len(argv) != 1:
        print(
            "usage: python -m edalize_dse.pyosys_main SCRIPT.ys | --interface SCRIPT.ys OUT.json | --version",
            file=sys.stderr,
        )
        return 2
    from pyosys import libyosys as ys

    print(f"edalize-dse: {yosys_version()} running {argv[0]}", flush=True)
    ys.run_pass(f"script {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
