"""Content-addressed cache of flow results.

The key of one flow run is a hash of everything that decides its outcome: the
rendered RTL, the rendered tool scripts (with file paths replaced by the hash of
the file they name, so the output directory does not matter), the content of
every liberty file and the tool versions. An identical run is answered from the
cache, across output directories, with the reports the numbers came from.
Only successful runs are cached: a failure may be a timeout or a full disk."""

from __future__ import annotations

import hashlib
import json
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
        doc = dict(format=CACHE_FORMAT, flow=self.flow, files=sorted(files.values()), texts=texts,
                   tools=self.tool_versions)
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


class ResultCache:
    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory) if directory else default_results_dir()

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / key

    def get(self, key: str, copy_reports_to: Path | None = None) -> dict | None:
        """The cached result of ``key`` ({metrics, timings, reports}), or None."""
        entry = self._entry(key)
        try:
            result = json.loads((entry / RESULT_FILE).read_text())
        except (OSError, ValueError):
            return None
        if copy_reports_to is not None:
            for name in result.get("reports", []):
                if (entry / name).is_file():
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
            (tmp / RESULT_FILE).write_text(json.dumps(
                dict(key=key, metrics=metrics, timings=timings, reports=[Path(r).name for r in reports]),
                indent=1, sort_keys=True))
            os.replace(tmp, entry)
        except OSError:
            # Another worker stored the same key first, or the disk is full:
            # the cache is an optimisation, the evaluation's result stands.
            shutil.rmtree(tmp, ignore_errors=True)
