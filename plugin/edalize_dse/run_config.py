"""One run's options as an object: read from and written to ``run.json`` (grouped by
concern, ``options.py``), checked option by option; the objectives option parsed."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from edalize_dse.errors import DseError
from edalize_dse.options import GROUPS, by_group, options

RUN_RECORD = "run.json"


class RunConfig:
    """One run's options (``options.options()``), read and set as attributes
    (``config.workers``); written grouped by concern to ``run.json``."""

    def __init__(self, **values):
        table = options()
        unknown = sorted(set(values) - set(table))
        if unknown:
            raise DseError(f"unknown run option(s) {', '.join(unknown)}; known: {', '.join(table)}")
        for name, option in table.items():
            setattr(self, name, values[name] if name in values else copy.deepcopy(option.default))

    @classmethod
    def from_json(cls, path) -> "RunConfig":
        """A run configuration file: ``{group: {option: value}}`` as ``write_json`` writes it
        (a flat ``{option: value}``, as edalize-dse 0.1.0 wrote at first, is read too)."""
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DseError(f"cannot read run configuration {path}: {exc}") from None
        if not isinstance(doc, dict):
            raise DseError(f"{path}: a run configuration is a JSON object of option groups")
        flat = {}
        for key, value in doc.items():
            if key in GROUPS and isinstance(value, dict):
                flat.update(value)
            else:
                flat[key] = value
        try:
            config = cls(**flat)
        except DseError as exc:
            raise DseError(f"{path}: {exc}") from None
        config.check(source=str(path))
        return config

    def as_dict(self) -> dict:
        """``{group: {option: value}}`` in declaration order."""
        return {group: {o.name: getattr(self, o.name) for o in opts} for group, opts in by_group().items()}

    def write_json(self, path) -> None:
        Path(path).write_text(json.dumps(self.as_dict(), indent=2) + "\n")

    def check(self, source: str = "run configuration") -> None:
        """Each option's type and range (``Option.coerce``); raises DseError naming the option."""
        for name, option in options().items():
            setattr(self, name, option.coerce(getattr(self, name), source))

    def all_strategy_options(self) -> dict:
        """The strategy's options; ``dosa`` models the run's workload unless told another."""
        options = dict(self.strategy_options)
        if self.strategy == "dosa" and self.workload:
            options.setdefault("workload", self.workload)
            options.setdefault("dram_pj_per_byte", self.dram_pj_per_byte)
            options.setdefault("dram_bytes_per_cycle", self.dram_bytes_per_cycle)
        return options

    def workload_options(self) -> dict | None:
        if not self.workload:
            return None
        return dict(
            workload=self.workload,
            dram_pj_per_byte=self.dram_pj_per_byte,
            dram_bytes_per_cycle=self.dram_bytes_per_cycle,
        )

    def flow_options(self) -> dict:
        caching = self.cache_dir != "off"
        return dict(
            timeout_s=self.tool_timeout,
            cache=caching,
            cache_dir=self.cache_dir if caching else None,
            activity=self.activity,
            frontend=self.frontend,
        )


MAXIMISED = ("throughput_gops", "fmax_mhz")


def objectives_from_option(items) -> list:
    """``["latency_ms", "fmax_mhz:max"]`` (or one comma-separated string) as objectives;
    without a goal, throughput and fmax are maximised and everything else minimised."""
    from edalize_dse.space import Objective

    if isinstance(items, str):
        items = items.split(",")
    objectives = []
    for item in (str(i).strip() for i in items):
        name, _, goal = item.partition(":")
        goal = goal or ("max" if name in MAXIMISED else "min")
        if not name or goal not in ("min", "max"):
            raise DseError(f"objective '{item}': expected name or name:min / name:max")
        objectives.append(Objective(name, goal))
    if len({o.name for o in objectives}) != len(objectives) or not objectives:
        raise DseError(f"objectives option {items!r}: give each metric once")
    return objectives
