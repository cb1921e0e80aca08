"""EDA flows: take a generated design and the EDA layer of a point through real
tools and return the QoR read from the tools' reports."""

from __future__ import annotations

from edalize_dse.errors import DseError
from edalize_dse.flows.base import Flow


def get_flow(name: str, **options) -> Flow:
    from edalize_dse.flows.orfs import OrfsFlow
    from edalize_dse.flows.synth import SynthFlow

    flows = {SynthFlow.name: SynthFlow, OrfsFlow.name: OrfsFlow}
    if name not in flows:
        raise DseError(f"unknown flow '{name}'; available: {', '.join(sorted(flows))}")
    return flows[name](**options)
