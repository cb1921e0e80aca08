"""Workload-level performance: layer-shape files, an analytical model of the
array (differentiable in the mapping), and per-layer mapping search (DOSA-style)."""
