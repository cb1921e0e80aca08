"""What an exploration's results depend on, so a resumed run only ever reuses
results of the same exploration.

``run_identity`` lists every input that changes a point's QoR: the space (its
parameters and constraints as parsed: comments, layout, objectives and descriptions
may change without refusing a resume),
the generator and its inputs (a user core's RTL contents, top, parameters and
defines; the embedded generator's templates), the flow and its options (clock
port, activity, fidelity, workload), the flow's scripts, the platform's files
and the tool versions. The store records it; a later run on the same output
folder compares item by item and names what changed (``changes``).

Not part of it: budget, strategy and its options, seed, workers, timeouts and
the cache folder; they decide which points run and where, not what a point's
result is."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from edalize_dse import __version__
from edalize_dse.errors import DseError
from edalize_dse.platform import content_digest
from edalize_dse.templating import templates_dir

# Items whose value is shown as it is when it changes (the rest are digests).
READABLE = ("generator", "fidelity", "clock_port", "activity", "workload", "tools", "version")
# Source files a core's include folders may hold.
_INCLUDE_SUFFIXES = (".v", ".vh", ".sv", ".svh", ".h", ".inc")


def _digest_files(paths) -> str:
    h = hashlib.sha256()
    for path in paths:
        path = Path(path)
        h.update(path.name.encode() + b"\0")
        h.update(content_digest(path).encode() if path.is_file() else b"missing")
    return h.hexdigest()


def _digest_json(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _tree_files(folder: Path, suffixes=None) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and (suffixes is None or p.suffix in suffixes))


def generator_inputs(config, generator) -> str:
    """A digest of what the generator turns into RTL, besides the point's own parameters."""
    if generator.name == "core":
        core = config.core or {}
        include_files = [f for d in core.get("include_dirs", []) for f in _tree_files(Path(d), _INCLUDE_SUFFIXES)]
        return _digest_json(
            {
                "top": core.get("top"),
                "files": _digest_files(core.get("files", [])),
                "include_files": _digest_files(include_files),
                "parameters": core.get("parameters", {}),
                "defines": core.get("defines", {}),
                # The timing constraint and the macros' views decide the results as much as the RTL.
                "sdc": _digest_files([core["sdc"]] if core.get("sdc") else []),
                "macros": {kind: _digest_files(paths) for kind, paths in sorted(core.get("macros", {}).items())},
                "frontend": config.frontend,
            }
        )
    if generator.name == "chipyard":
        return _digest_json(
            {
                "root": str(config.chipyard_root or ""),
                "templates": _digest_files(_tree_files(templates_dir() / "chipyard")),
            }
        )
    return _digest_files([*_tree_files(templates_dir() / "rtl"), *_tree_files(templates_dir() / "sram")])


def platform_digest(flows) -> str | None:
    """A digest of the cell data (lib, lef) of the first of ``flows`` that has a
    platform on this machine; None when none has (a cluster driver)."""
    for flow in flows:
        try:
            root = flow.platform.root
        except (AttributeError, DseError):
            continue
        return _digest_files([p for sub in ("lib", "lef") for p in _tree_files(Path(root) / sub)])
    return None


def run_identity(config, prep, node_platform: str | None = None) -> dict:
    """Item -> value or digest, for everything a point's result depends on.

    With a cluster executor the driver may have no tools or platform of its own:
    ``prep.tool_versions`` then holds the nodes' versions (``check_nodes``) and
    ``node_platform`` the digest of their cell data."""
    from edalize_dse.flows.synth import SynthFlow

    flow_templates = [
        p for f in prep.flows for p in _tree_files(templates_dir() / ("synth" if isinstance(f, SynthFlow) else f.name))
    ]
    platform = node_platform or platform_digest(prep.flows)
    workload = config.workload
    if workload and Path(workload).is_file():
        workload = f"{Path(workload).name} sha256:{content_digest(Path(workload))[:16]}"
    return {
        "version": __version__,
        "space": space_digest(prep.space),
        "generator": config.generator,
        "generator_inputs": generator_inputs(config, prep.generator),
        "fidelity": config.fidelity,
        "clock_port": getattr(prep.generator, "clock_port", None),
        "activity": config.activity,
        "workload": None
        if not workload
        else f"{workload}, DRAM {config.dram_pj_per_byte:g} pJ/B, {config.dram_bytes_per_cycle:g} B/cycle",
        "flow_scripts": _digest_files(flow_templates),
        "platform_files": platform,
        "tools": dict(sorted(prep.tool_versions.items())),
    }


def space_digest(space) -> str:
    """The parameters (name, layer, type, range, default) and constraints of a parsed space."""
    params = [
        {k: v for k, v in dataclasses.asdict(p).items() if k != "description"}
        for _, p in sorted(space.parameters.items())
    ]
    return "parsed:" + _digest_json(
        {"parameters": params, "constraints": [[c.name, c.expr] for c in space.constraints]}
    )


def same_space_file(recorded: dict, space_file, digest: str) -> dict:
    """``recorded`` with its space item replaced by ``digest`` (this run's) when it is the
    digest of the file's bytes that edalize-dse 0.1.0 recorded and the file is unchanged."""
    try:
        if space_file is not None and recorded.get("space") == content_digest(Path(space_file)):
            return {**recorded, "space": digest}
    except OSError:
        pass
    return recorded


# Names a user recognises, for the one-line message.
_LABELS = {
    "version": "edalize-dse version",
    "space": "space file",
    "generator": "generator",
    "generator_inputs": "generator inputs (RTL, top, parameters, defines)",
    "fidelity": "fidelity",
    "clock_port": "clock port",
    "activity": "activity",
    "workload": "workload",
    "flow_scripts": "flow scripts",
    "platform_files": "platform files",
    "tools": "tool versions",
}


def changes(recorded: dict, now: dict) -> list[str]:
    """What differs between a stored identity and this run's, each as a short phrase."""
    found = []
    for key in now:
        if recorded.get(key) == now[key]:
            continue
        label = _LABELS.get(key, key)
        if key in READABLE:
            found.append(f"{label} ({recorded.get(key, 'not recorded')!r} -> {now[key]!r})")
        else:
            found.append(label)
    return found
