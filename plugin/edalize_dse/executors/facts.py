"""What every node of a run shares, as ``check_nodes`` found it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class NodeFacts:
    # tool -> version on the nodes (empty: this machine's, checked by explore.prepare)
    versions: dict = field(default_factory=dict)
    # digest of the nodes' ASAP7 cell data (identity.platform_digest); None: this machine's
    platform: str | None = None
