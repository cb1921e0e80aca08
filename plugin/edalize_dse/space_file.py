"""Reading a design-space file: YAML (unique keys, bounded size and nesting), every
parameter, constraint, objective and QoR constraint checked in full, with one
SpaceError line naming the file and the parameter, before any tool runs."""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from edalize_dse.constraint_expr import ConstraintError, ConstraintOverflow, is_pow2, parse_constraint
from edalize_dse.errors import SpaceError
from edalize_dse.space import Objective, Parameter, Space

TYPES = ("int", "pow2", "choice", "float", "bool")

LAYERS = ("hardware", "eda")

GOALS = ("min", "max")

# Keys each parameter type accepts besides layer/type/default/description.
_TYPE_KEYS = {
    "int": {"low", "high", "step"},
    "pow2": {"low", "high"},
    "choice": {"choices"},
    "float": {"low", "high", "log"},
    "bool": set(),
}

_COMMON_KEYS = {"layer", "type", "default", "description"}

# Bounds on what a space file may ask of the machine.
MAX_FILE_BYTES = 1_000_000

MAX_NESTING = 64  # [ and { levels: PyYAML recurses per level and slows down long before its limit

MAX_INT_MAGNITUDE = 2**62  # int/pow2 bounds: ranges stay lazy, counts fit in an index


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (plain YAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                repeated = key in seen
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if repeated:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key '{key}' is given twice (lines {seen[key]} and {line}); keep one",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _read_text(path: Path) -> str:
    """The file's text, or one SpaceError saying why it is not a space file."""
    if path.is_dir():
        raise SpaceError(path, "is a folder, not a design-space file")
    if not path.is_file():
        raise SpaceError(path, "file not found")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpaceError(path, f"{size:,} bytes is too large for a design-space file (limit {MAX_FILE_BYTES:,})")
        data = path.read_bytes()
    except OSError as exc:
        raise SpaceError(path, f"cannot be read: {exc.strerror or exc}") from None
    if not data.strip():
        raise SpaceError(path, "the file is empty; a design space needs 'parameters' (see cores/spaces/)")
    if b"\0" in data:
        raise SpaceError(path, "is a binary file, not a YAML design-space file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpaceError(
            path, f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}); save it as UTF-8"
        ) from None
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    if deepest > MAX_NESTING:
        raise SpaceError(path, f"lists or mappings nested {deepest} deep (limit {MAX_NESTING}): not a design space")
    return text


def load_space(path) -> Space:
    path = Path(path)
    text = _read_text(path)
    try:
        doc = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise SpaceError(path, f"control character {exc.character!r} at line {line}: not a text file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())  # one line
        raise SpaceError(path, f"not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise SpaceError(path, "YAML nested too deeply") from None
    if not isinstance(doc, dict):
        raise SpaceError(path, "expected a mapping with 'parameters' at the top level")
    unknown = set(doc) - {"name", "description", "parameters", "constraints", "objectives", "qor_constraints"}
    if unknown:
        raise SpaceError(
            path,
            f"unknown top-level key(s) {sorted(unknown)}; expected name, description, "
            "parameters, constraints, objectives, qor_constraints",
        )
    raw_params = doc.get("parameters")
    if not isinstance(raw_params, dict) or not raw_params:
        raise SpaceError(path, "'parameters' must be a non-empty mapping of name -> definition")
    parameters = {str(name): _parse_parameter(path, str(name), spec) for name, spec in raw_params.items()}
    constraints = [parse_constraint(path, i, c, parameters) for i, c in enumerate(doc.get("constraints") or [])]
    objectives = _parse_objectives(path, doc.get("objectives"))
    space = Space(
        path, str(doc.get("name", path.stem)), parameters, constraints, objectives, str(doc.get("description", ""))
    )
    for c in constraints:
        try:
            c.evaluate(space.default_point())
        except ConstraintError as exc:
            raise SpaceError(
                path, f"constraint '{c.name}' ({c.expr:.200}) cannot be evaluated at the default point: {exc}"
            ) from None
    # A power that overflows at some other point would make that point (and every one like it)
    # silently invalid; the ends of each parameter's range are where powers are largest.
    for c in constraints:
        for point in space.extreme_points():
            try:
                c.evaluate(point)
            except ConstraintOverflow as exc:
                where = ", ".join(f"{k}={v}" for k, v in point.items() if v != space.default_point()[k])
                raise SpaceError(
                    path,
                    f"constraint '{c.name}' ({c.expr:.200}) overflows at {where or 'a point'}: "
                    f"{exc}; bound the power's operands",
                ) from None
            except ConstraintError:
                pass  # e.g. a division by zero there: that point is invalid, as the module says
    space.qor_constraints = _parse_qor_constraints(path, doc.get("qor_constraints"))
    broken = [c for c in constraints if not c.holds(space.default_point())]
    if broken:
        raise SpaceError(
            path,
            f"the default point breaks constraint '{broken[0].name}' ({broken[0].expr}); "
            "change the parameters' defaults",
        )
    return space


def _parse_parameter(path, name, spec) -> Parameter:
    if not isinstance(spec, dict):
        raise SpaceError(path, "definition must be a mapping (layer, type, default, ...)", name)
    layer, ptype = spec.get("layer"), spec.get("type")
    if layer not in LAYERS:
        raise SpaceError(path, f"unknown layer {layer!r} (expected one of {', '.join(LAYERS)})", name)
    if ptype not in TYPES:
        raise SpaceError(path, f"unknown type {ptype!r} (expected one of {', '.join(TYPES)})", name)
    extra = set(spec) - _COMMON_KEYS - _TYPE_KEYS[ptype]
    if extra:
        raise SpaceError(
            path,
            f"key(s) {sorted(extra)} do not apply to type '{ptype}' "
            f"(allowed: {sorted(_COMMON_KEYS | _TYPE_KEYS[ptype])})",
            name,
        )
    if "default" not in spec:
        raise SpaceError(path, "no 'default' given", name)
    kwargs = dict(
        name=name, layer=layer, type=ptype, default=spec["default"], description=str(spec.get("description", ""))
    )

    if ptype == "choice":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise SpaceError(path, "'choices' must be a non-empty list", name)
        if len(set(map(repr, choices))) != len(choices):
            raise SpaceError(path, "'choices' has duplicates", name)
        kwargs["choices"] = tuple(choices)
    elif ptype in ("int", "pow2", "float"):
        low, high = spec.get("low"), spec.get("high")
        numeric = (int,) if ptype != "float" else (int, float)
        for key, value in (("low", low), ("high", high)):
            if isinstance(value, bool) or not isinstance(value, numeric):
                raise SpaceError(
                    path, f"'{key}' must be {'an integer' if ptype != 'float' else 'a number'}, got {value!r:.60}", name
                )
            if ptype == "float" and not math.isfinite(value):
                raise SpaceError(path, f"'{key}' must be finite, got {value!r}", name)
            if ptype != "float" and abs(value) > MAX_INT_MAGNITUDE:
                raise SpaceError(
                    path, f"'{key}' = {value:.3g} is beyond the supported range (magnitude up to 2**62)", name
                )
        if low > high:
            raise SpaceError(path, f"'low' ({low}) is greater than 'high' ({high})", name)
        if ptype == "pow2" and not (is_pow2(low) and is_pow2(high)):
            raise SpaceError(
                path, f"'low' and 'high' of a pow2 parameter must be powers of two, got {low}, {high}", name
            )
        if ptype == "int":
            step = spec.get("step", 1)
            if isinstance(step, bool) or not isinstance(step, int) or step < 1:
                raise SpaceError(path, f"'step' must be a positive integer, got {step!r}", name)
            kwargs["step"] = step
        if ptype == "float":
            kwargs["log"] = bool(spec.get("log", False))
            if kwargs["log"] and low <= 0:
                raise SpaceError(path, "a log-scaled float needs 'low' > 0", name)
            kwargs["default"] = float(spec["default"]) if isinstance(spec["default"], (int, float)) else spec["default"]
        kwargs["low"], kwargs["high"] = low, high

    param = Parameter(**kwargs)
    if not param.contains(param.default):
        raise SpaceError(path, f"default {param.default!r} is not a legal value", name)
    return param


def _parse_qor_constraints(path, raw) -> list:
    from edalize_dse.errors import DseError
    from edalize_dse.qor_constraints import parse_all

    if raw is not None and not (isinstance(raw, list) and all(isinstance(r, str) for r in raw)):
        raise SpaceError(path, "'qor_constraints' must be a list of strings such as 'wns_ps >= 0'")
    try:
        return parse_all(raw, source=str(path))
    except DseError as exc:
        raise SpaceError(path, str(exc).removeprefix(f"{path}: ")) from None


DEFAULT_OBJECTIVES = (("area_um2", "min"), ("power_mw", "min"), ("throughput_gops", "max"))


def _parse_objectives(path, raw) -> list[Objective]:
    if raw is None:
        return [Objective(n, g) for n, g in DEFAULT_OBJECTIVES]
    if not isinstance(raw, list) or not raw:
        raise SpaceError(path, "'objectives' must be a non-empty list of {name, goal}")
    objectives = []
    for i, spec in enumerate(raw):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or spec.get("goal") not in GOALS:
            raise SpaceError(path, f"objective #{i + 1} must be {{name: <metric>, goal: min|max}}, got {spec!r}")
        objectives.append(Objective(spec["name"], spec["goal"]))
    if len({o.name for o in objectives}) != len(objectives):
        raise SpaceError(path, "an objective is listed twice")
    return objectives
