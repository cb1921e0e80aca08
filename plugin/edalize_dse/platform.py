"""Finding the ASAP7 platform and its liberty files.

The platform is ``$ASAP7_PLATFORM_DIR`` if set, else ``$FLOW_HOME/platforms/asap7``
(an OpenROAD-flow-scripts checkout); its files are laid out as in ORFS. Debian's
OpenSTA reads only uncompressed liberty, so ``.lib.gz`` files are decompressed
once into a cache keyed by their content hash and every tool reads those copies.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from edalize_dse.errors import DseError

VT_FLAVOURS = ("RVT", "LVT", "SLVT")
# Cell-name suffix of each threshold flavour (e.g. INVx1_ASAP7_75t_SL).
VT_SUFFIX = {"RVT": "R", "LVT": "L", "SLVT": "SL"}
# Combinational groups in the order ABC must read them: ABC drops a first library
# with fewer than three cell classes (INVBUF alone) and merges the rest into it,
# which would leave the mapper without a buffer and an inverter.
COMB_GROUPS = ("SIMPLE", "AO", "OA", "INVBUF")
# ORFS's ASAP7 corner names (variable CORNER) and the process tag of their liberty files.
CORNERS = {"TC": "TT", "BC": "FF", "WC": "SS"}
CELL_GROUPS = ("SEQ",) + COMB_GROUPS


def cache_root() -> Path:
    """Where derived files (decompressed liberty) live: $EDALIZE_DSE_CACHE or ~/.cache/edalize-dse."""
    env = os.environ.get("EDALIZE_DSE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "edalize-dse"


@dataclass(frozen=True)
class Platform:
    root: Path
    found_via: str

    def liberty_group(self, group: str, vt: str, corner: str = "TC") -> Path:
        if vt not in VT_FLAVOURS:
            raise DseError(f"unknown threshold flavour vt={vt!r}; expected one of {', '.join(VT_FLAVOURS)}")
        if corner not in CORNERS:
            raise DseError(f"unknown corner {corner!r}; expected one of {', '.join(CORNERS)} (ORFS's names)")
        folder = self.root / "lib" / "NLDM"
        tag = CORNERS[corner]
        found = sorted(folder.glob(f"asap7sc7p5t_{group}_{vt}_{tag}_nldm_*.lib*"))
        found = [p for p in found if p.name.endswith((".lib", ".lib.gz"))]
        if not found:
            raise DseError(
                f"ASAP7 platform {self.root} (via {self.found_via}) has no "
                f"lib/NLDM/asap7sc7p5t_{group}_{vt}_{tag}_nldm_*.lib[.gz] (corner {corner}); "
                "point ASAP7_PLATFORM_DIR at a complete ORFS asap7 platform folder"
                + ("" if corner == "TC" else " or leave CORNER at TC")
            )
        return found[-1]

    def liberty(self, vt: str, corner: str = "TC") -> dict[str, Path]:
        """Uncompressed liberty files of one flavour and corner, by cell group (SEQ first)."""
        return {g: decompressed(self.liberty_group(g, vt, corner)) for g in CELL_GROUPS}

    def check_liberty(self, vts=("RVT",), corners=("TC",)) -> None:
        """Every liberty file the points of these flavours and corners read, decompressed and
        checked now (``check_liberty_file``): a damaged platform stops the run before its
        first point, not as a design failure of the points that read it."""
        for corner in corners:
            for vt in vts:
                for group in CELL_GROUPS:
                    source = self.liberty_group(group, vt, corner)
                    check_liberty_file(decompressed(source), source)

    def corners(self) -> list[str]:
        """The corners whose liberty files the platform has (every group of the RVT flavour)."""
        have = []
        for corner in CORNERS:
            try:
                for group in CELL_GROUPS:
                    self.liberty_group(group, "RVT", corner)
            except DseError:
                continue
            have.append(corner)
        return have


def find_platform(environ=None) -> Platform:
    env = os.environ if environ is None else environ
    direct = env.get("ASAP7_PLATFORM_DIR")
    if direct:
        root, via = Path(direct), "ASAP7_PLATFORM_DIR"
    elif env.get("FLOW_HOME"):
        root, via = Path(env["FLOW_HOME"]) / "platforms" / "asap7", "FLOW_HOME"
    else:
        raise DseError(
            "ASAP7 platform not found: set ASAP7_PLATFORM_DIR to an asap7 platform folder "
            "(lib/NLDM, lef), or FLOW_HOME to an OpenROAD-flow-scripts 'flow' folder "
            "containing platforms/asap7"
        )
    if not (root / "lib" / "NLDM").is_dir():
        raise DseError(
            f"ASAP7 platform folder {root} (from {via}) has no lib/NLDM; "
            "set ASAP7_PLATFORM_DIR or FLOW_HOME to a folder laid out like ORFS's platforms/asap7"
        )
    return Platform(root=root.resolve(), found_via=via)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def content_digest(path: Path) -> str:
    """``file_digest``, memoised on the file's identity (liberty files are large)."""
    path = Path(path).resolve()
    stat = path.stat()
    return _memo_digest(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=1024)
def _memo_digest(path: Path, mtime_ns: int, size: int) -> str:
    return file_digest(path)


def decompressed(path: Path) -> Path:
    """``path`` itself if uncompressed, else its cached decompressed copy."""
    path = Path(path)
    if path.suffix != ".gz":
        return path
    stat = path.stat()
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size, cache_root())
    target = _decompressed(*key)
    if not target.exists():  # the cache folder was emptied since: decompress again
        _decompressed.cache_clear()
        target = _decompressed(*key)
    return target


@lru_cache(maxsize=256)
def _decompressed(path: Path, mtime_ns: int, size: int, cache: Path) -> Path:
    # Keyed on the file's identity and the cache folder, so every evaluation
    # after the first skips re-hashing the library (mtime/size catch a change).
    target = cache / "liberty" / f"{file_digest(path)[:16]}-{path.name[:-3]}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so parallel workers never read a half-written file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(path, "rb") as src:
            shutil.copyfileobj(src, out)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        os.unlink(tmp)
        raise DseError(
            f"liberty file {path} is damaged: it cannot be decompressed ({exc or type(exc).__name__}); "
            "restore it from the platform's distribution"
        ) from None
    except BaseException:
        os.unlink(tmp)
        raise
    os.replace(tmp, target)
    return target


def check_liberty_file(path: Path, shown: Path | None = None) -> None:
    """Raise DseError when a liberty file is visibly damaged: no library group, or cut
    short (its braces do not close). ``shown`` names it in the message (the .gz the
    user knows rather than our decompressed copy)."""
    path = Path(path)
    stat = path.stat()
    problem = _liberty_problem(path.resolve(), stat.st_mtime_ns, stat.st_size)
    if problem:
        raise DseError(
            f"liberty file {shown or path} is damaged: {problem}; restore it (a platform file: from the "
            "platform's distribution)"
        )


@lru_cache(maxsize=256)
def _liberty_problem(path: Path, mtime_ns: int, size: int) -> str | None:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if not re.search(r"^\s*library\s*\(", text[: 1 << 16], re.MULTILINE):
        return "no 'library (...)' group at its start"
    opened, closed = text.count("{"), text.count("}")
    if opened != closed or not text.rstrip().endswith("}"):
        return f"cut short or garbled ({opened} '{{' against {closed} '}}')"
    return None
