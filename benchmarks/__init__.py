"""The benchmark harness: each module is a command run from the repository's root as
``python -m benchmarks.<module>`` (BENCHMARKS.md gives each figure's command).

Work a benchmark resumes (a table build's store, a study's finished runs) is kept under
``STATE``, outside ``build/``: ``make clean`` leaves hours of tool time alone; delete
the folder itself to start over."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
STATE = ROOT / "benchmarks" / "state"
