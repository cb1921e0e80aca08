"""Content-addressed cache of flow results.

The key of one flow run is a hash of everything that decides its outcome: the
rendered RTL, the rendered tool scripts (with file paths replaced by the hash of
the file they name, so the output directory does not matter), the content of
every liberty file and the tool versions. An identical run is answered from the
cache, across output directories, with the reports the numbers came from.
Only successful runs are cached: a failure may be a timeout or a full disk.

An entry is written into a temporary folder and renamed into place, and carries
a checksum of its result and report files: an entry that does not match it
(truncated, edited, half-copied) is a miss, removed so the re-run rewrites it,
with one warning."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edalize_dse.platform import cache_root, content_digest

# Bumped whenever what a cached entry means changes (metric names or parsing).
# 3: one entry per step (netlist, STA); power at the achieved clock.
CACHE_FORMAT = 3
RESULT_FILE = "result.json"

log = logging.getLogger(__name__)


def default_results_dir() -> Path:
    return cache_root() / "results"


@dataclass
class RunKey:
    """The inputs of one flow run; ``digest`` is the cache key."""

    flow: str
    texts: dict  # name -> rendered script text
    files: dict  # role -> path of an input file (RTL, liberty)
    tool_versions: dict
    # Strings that name the run but do not change it (the point id in comments).
    labels: tuple = ()

    def digest(self) -> str:
        files = {role: content_digest(Path(path)) for role, path in sorted(self.files.items())}
        texts = {}
        for name, text in sorted(self.texts.items()):
            # Paths differ between output directories and machines; contents decide.
            for role, path in sorted(self.files.items(), key=lambda kv: -len(str(kv[1]))):
                text = text.replace(str(path), f"<{files[role]}>")
            for label in self.labels:
                text = text.replace(label, "<label>")
            texts[name] = text
        doc = dict(
            format=CACHE_FORMAT, flow=self.flow, files=sorted(files.values()), texts=texts, tools=self.tool_versions
        )
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


class ResultCache:
    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory) if directory else default_results_dir()

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / key

    def get(self, key: str, copy_reports_to: Path | None = None) -> dict | None:
        """The cached result of ``key`` ({metrics, timings, reports}), or None."""
        entry = self._entry(key)
        if not entry.exists():
            return None
        problem = _entry_problem(entry, key)
        if problem:
            log.warning(
                "flow-result cache entry %s is unusable (%s): running the tools again and rewriting it", entry, problem
            )
            _remove(entry)
            return None
        result = json.loads((entry / RESULT_FILE).read_text())
        if copy_reports_to is not None:
            for name in result["reports"]:
                shutil.copyfile(entry / name, Path(copy_reports_to) / name)
        return result

    def put(self, key: str, metrics: dict, timings: dict, reports: list[Path]) -> None:
        """Store a successful run; the entry appears whole or not at all."""
        entry = self._entry(key)
        if (entry / RESULT_FILE).is_file():
            return
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=entry.parent))
        try:
            for report in reports:
                shutil.copyfile(report, tmp / Path(report).name)
            result = dict(key=key, metrics=metrics, timings=timings, reports=[Path(r).name for r in reports])
            result["checksum"] = _checksum(result, tmp)
            (tmp / RESULT_FILE).write_text(json.dumps(result, indent=1, sort_keys=True))
            os.replace(tmp, entry)
        except OSError:
            # Another worker stored the same key first, or the disk is full:
            # the cache is an optimisation, the evaluation's result stands.
            shutil.rmtree(tmp, ignore_errors=True)


def _checksum(result: dict, folder: Path) -> str:
    """sha256 over the result (less its checksum) and the content of its report files."""
    digest = hashlib.sha256(json.dumps({k: v for k, v in result.items() if k != "checksum"}, sort_keys=True).encode())
    for name in result["reports"]:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return digest.hexdigest()


def _entry_problem(entry: Path, key: str) -> str | None:
    """Why a cache entry cannot be used, or None when it is whole."""
    try:
        result = json.loads((entry / RESULT_FILE).read_text())
    except OSError as exc:
        return f"{RESULT_FILE} unreadable: {exc.strerror or exc}"
    except ValueError:
        return f"{RESULT_FILE} is not valid JSON"
    if (
        not isinstance(result, dict)
        or not isinstance(result.get("metrics"), dict)
        or not isinstance(result.get("timings"), dict)
        or not isinstance(result.get("reports"), list)
        or not all(isinstance(n, str) and "/" not in n for n in result["reports"])
    ):
        return "result without metrics, timings or reports"
    if result.get("key") != key:
        return "result of another key"
    if "checksum" not in result:
        return "written without a checksum (by edalize-dse 0.1.0, or edited)"
    missing = [n for n in result["reports"] if not (entry / n).is_file()]
    if missing:
        return f"report(s) missing: {', '.join(missing)}"
    try:
        whole = result.get("checksum") == _checksum(result, entry)
    except OSError as exc:
        return f"a report is unreadable: {exc.strerror or exc}"
    return None if whole else "checksum mismatch (truncated or edited)"


def _remove(entry: Path) -> None:
    """Move the entry aside first (one rename), so no reader sees it half deleted."""
    trash = entry.with_name(f".{entry.name}.removed-{os.getpid()}")
    try:
        os.replace(entry, trash)
    except OSError:
        return  # another worker removed or replaced it
    if trash.is_dir() and not trash.is_symlink():
        shutil.rmtree(trash, ignore_errors=True)
    else:  # an entry that is a file (or a link) where a folder belongs
        try:
            trash.unlink()
        except OSError:
            pass
