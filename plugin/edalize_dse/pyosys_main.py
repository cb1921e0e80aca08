"""Run a Yosys script with pyosys in its own process: ``python -m edalize_dse.pyosys_main SCRIPT``.

A separate process gives each synthesis its own log, timeout and memory, and
keeps a crash inside Yosys from taking the exploration down."""

import sys


def yosys_version() -> str:
    from pyosys import libyosys as ys

    return ys.yosys_maybe_version().split(" (")[0]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--version"]:
        print(yosys_version())
        return 0
    if len(argv) != 1:
        print("usage: python -m edalize_dse.pyosys_main SCRIPT.ys | --version", file=sys.stderr)
        return 2
    from pyosys import libyosys as ys

    print(f"edalize-dse: {yosys_version()} running {argv[0]}", flush=True)
    ys.run_pass(f"script {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
