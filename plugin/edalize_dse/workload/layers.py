"""Workloads as layer-shape files (YAML): convolutions with R, S, P, Q, C, K, N and a
stride, and matrix multiplies (M x K) times (K x N); each layer with a count.

The array runs every layer as a matrix multiply (im2col): M = N*P*Q output
pixels, K = C*R*S reduction, N = K output channels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from edalize_dse.errors import DseError

CONV_FIELDS = ("R", "S", "P", "Q", "C", "K")
MATMUL_FIELDS = ("M", "K", "N")


@dataclass(frozen=True)
class Layer:
    name: str
    type: str  # conv | matmul
    dims: tuple  # conv: R, S, P, Q, C, K, N, stride; matmul: M, K, N
    count: int = 1

    def gemm(self) -> tuple[int, int, int]:
        """(M, K, N) of the matrix multiply the array runs for this layer."""
        if self.type == "matmul":
            return self.dims
        r, s, p, q, c, k, n, _stride = self.dims
        return n * p * q, c * r * s, k

    @property
    def macs(self) -> int:
        m, k, n = self.gemm()
        return m * k * n


@dataclass(frozen=True)
class Workload:
    name: str
    path: Path
    layers: tuple

    @property
    def macs(self) -> int:
        return sum(layer.macs * layer.count for layer in self.layers)


def shipped_dir() -> Path:
    """The workload files that come with the package (``edalize_dse/networks``)."""
    return Path(__file__).resolve().parents[1] / "networks"


def shipped() -> list[str]:
    return sorted(p.stem for p in shipped_dir().glob("*.yml"))


def load_workload(ref: str | Path) -> Workload:
    """A workload by file path or by the name of a shipped file (e.g. ``resnet50``)."""
    path = Path(ref)
    if not path.is_file():
        candidate = shipped_dir() / f"{ref}.yml"
        if not candidate.is_file():
            raise DseError(f"workload '{ref}' is neither a file nor a shipped workload ({', '.join(shipped())})")
        path = candidate
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise DseError(f"{path}: cannot read the workload: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("layers"), list) or not doc["layers"]:
        raise DseError(f"{path}: a workload needs a non-empty 'layers' list")
    layers, names = [], set()
    for i, entry in enumerate(doc["layers"]):
        layers.append(_layer(path, i, entry))
        if layers[-1].name in names:
            raise DseError(f"{path}: layer '{layers[-1].name}' appears twice (use 'count')")
        names.add(layers[-1].name)
    return Workload(name=str(doc.get("name", path.stem)), path=path, layers=tuple(layers))


def _layer(path: Path, index: int, entry) -> Layer:
    where = f"{path}: layer {index + 1}"
    if not isinstance(entry, dict):
        raise DseError(f"{where}: expected a mapping with name, type and dimensions")
    name = str(entry.get("name", f"layer{index + 1}"))
    where = f"{path}: layer '{name}'"
    kind = entry.get("type")
    fields = {"conv": CONV_FIELDS, "matmul": MATMUL_FIELDS}.get(kind)
    if fields is None:
        raise DseError(f"{where}: type must be conv or matmul, got {kind!r}")
    allowed = set(fields) | {"name", "type", "count"} | ({"N", "stride"} if kind == "conv" else set())
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise DseError(f"{where}: unknown field(s) {unknown} for a {kind} layer")
    values = {}
    for field in (*fields, *(("N", "stride") if kind == "conv" else ()), "count"):
        default = 1 if field in ("N", "stride", "count") else None
        value = entry.get(field, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DseError(f"{where}: {field} must be a positive integer, got {value!r}")
        values[field] = value
    if kind == "conv":
        dims = tuple(values[f] for f in ("R", "S", "P", "Q", "C", "K", "N", "stride"))
    else:
        dims = tuple(values[f] for f in MATMUL_FIELDS)
    return Layer(name=name, type=kind, dims=dims, count=values["count"])
