"""The contracts in code: every flow is a ``Flow``, every executor an ``Executor`` and every
generator a ``Generator``, with nothing of the contract left abstract, and the packages
import one another in one direction only."""

from __future__ import annotations

import ast

import pytest

from edalize_dse.executors import Executor, LocalExecutor
from edalize_dse.flows import Flow, get_flow
from edalize_dse.flows.orfs import OrfsFlow
from edalize_dse.flows.synth import SynthFlow
from edalize_dse.generators import Generator

from conftest import REPO

PACKAGE = REPO / "plugin" / "edalize_dse"


@pytest.mark.parametrize("cls", [SynthFlow, OrfsFlow])
def test_every_flow_keeps_the_flow_contract(cls):
    assert issubclass(cls, Flow) and not cls.__abstractmethods__
    assert cls.name and cls.KNOBS and cls.METRICS
    flow = get_flow(cls.name)
    assert flow.knob_values({}) == {k: v.default for k, v in cls.KNOBS.items()}
    assert flow.check_knobs({"no_such_knob": 1})  # refused, with a reason


def test_every_executor_keeps_the_executor_contract():
    from edalize_dse.executors.dask_backend import DaskExecutor
    from edalize_dse.executors.ray_backend import RayExecutor

    for cls in (LocalExecutor, RayExecutor, DaskExecutor):
        assert issubclass(cls, Executor) and not cls.__abstractmethods__, cls
    local = LocalExecutor(3)
    try:
        assert local.free_slots == 3 and not local.busy
    finally:
        local.shutdown()


def test_every_generator_keeps_the_generator_contract():
    from edalize_dse.generators import chipyard, core, embedded

    for module in (chipyard, core, embedded):
        classes = [
            c for c in vars(module).values() if isinstance(c, type) and issubclass(c, Generator) and c is not Generator
        ]
        assert classes and all(not c.__abstractmethods__ for c in classes), module


def _subpackage_imports() -> dict[str, set[str]]:
    """Subpackage -> the other subpackages its modules import (top-level modules left out)."""
    found: dict[str, set[str]] = {}
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2 or parts[0] not in subpackages:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("edalize_dse."):
                target = node.module.split(".")[1]
                if target in subpackages and target != parts[0]:
                    found.setdefault(parts[0], set()).add(target)
    return found


def test_no_import_circle_between_subpackages():
    graph = _subpackage_imports()

    def reaches(start, goal, seen=()):
        return any(n == goal or (n not in seen and reaches(n, goal, (*seen, n))) for n in graph.get(start, ()))

    circles = sorted(p for p in graph if reaches(p, p))
    assert not circles, graph
    assert "flows" in graph.get("executors", set())  # the graph is read at all
