"""The design space: typed parameters in two layers, cross-parameter constraints
and the objectives, loaded from a YAML file and validated in full before any
tool runs.

File format (see ``cores/spaces/gemmini_small.yml``)::

    name: gemmini_small
    parameters:
      meshRows: {layer: hardware, type: pow2, low: 1, high: 8, default: 2}
      ASAP7_USE_VT: {layer: eda, type: choice, choices: [RVT, LVT, SLVT], default: RVT}
    constraints:
      - {name: square_array, expr: "meshRows * tileRows == meshColumns * tileColumns"}
    objectives:
      - {name: area_um2, goal: min}

Constraint expressions are Python-syntax arithmetic/comparisons over parameter
names and a few functions (``is_pow2 log2 min max abs``); anything else
(attributes, subscripts, lambdas, other names) is refused when the file loads.
Their evaluation is bounded: an expression has at most ``MAX_EXPR_NODES`` nodes,
arithmetic takes numbers only, and a power whose result would exceed
``MAX_RESULT_BITS`` bits is an error, so no space file can hang or exhaust a run.
An expression that cannot be evaluated at a point (division by zero, ``log2(0)``)
is an error at the default point and makes any other point invalid.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from edalize_dse.errors import SpaceError

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


def is_pow2(x) -> bool:
    return isinstance(x, (int, float)) and x >= 1 and float(x).is_integer() and (int(x) & (int(x) - 1)) == 0


_FUNCTIONS = {"is_pow2": is_pow2, "log2": math.log2, "min": min, "max": max, "abs": abs}
# Bounds on what a space file may ask of the machine.
MAX_FILE_BYTES = 1_000_000
MAX_NESTING = 64  # [ and { levels: PyYAML recurses per level and slows down long before its limit
MAX_EXPR_CHARS = 2_000
MAX_EXPR_NODES = 400
MAX_RESULT_BITS = 4096
MAX_INT_MAGNITUDE = 2 ** 62  # int/pow2 bounds: ranges stay lazy, counts fit in an index


class ConstraintError(ArithmeticError):
    """A constraint expression cannot be evaluated at a point."""


class ConstraintOverflow(ConstraintError):
    """A power in a constraint would exceed ``MAX_RESULT_BITS``."""


def _number(value, op: str):
    if isinstance(value, (int, float)):  # bool is an int
        return value
    raise ConstraintError(f"'{op}' needs numbers, got {type(value).__name__} {value!r:.40}")


def _power(a, b):
    a, b = _number(a, "**"), _number(b, "**")
    if a not in (0, 1, -1) and abs(b) > 1:
        bits = abs(b) * math.log2(abs(a)) if abs(a) > 0 else 0
        if bits > MAX_RESULT_BITS:
            raise ConstraintOverflow(f"{a!r:.20} ** {b!r:.20} is too large (over {MAX_RESULT_BITS} bits)")
    return a ** b


_ARITHMETIC = {
    "Add": lambda a, b: a + b if isinstance(a, str) and isinstance(b, str) else _number(a, "+") + _number(b, "+"),
    "Sub": lambda a, b: _number(a, "-") - _number(b, "-"),
    "Mult": lambda a, b: _number(a, "*") * _number(b, "*"),
    "Div": lambda a, b: _number(a, "/") / _number(b, "/"),
    "FloorDiv": lambda a, b: _number(a, "//") // _number(b, "//"),
    "Mod": lambda a, b: _number(a, "%") % _number(b, "%"),
    "Pow": _power,
}


def _arith(op, a, b):
    result = _ARITHMETIC[op](a, b)
    if isinstance(result, int) and result.bit_length() > MAX_RESULT_BITS:
        raise ConstraintError(f"an intermediate result exceeds {MAX_RESULT_BITS} bits")
    return result


class _BoundedArithmetic(ast.NodeTransformer):
    """``a <op> b`` -> ``__arith__('<op>', a, b)``: every operation goes through the checks above."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        call = ast.Call(func=ast.Name(id="__arith__", ctx=ast.Load()),
                        args=[ast.Constant(type(node.op).__name__), node.left, node.right], keywords=[])
        return ast.copy_location(call, node)


_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.Add, ast.Sub, ast.Mult,
    ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Name, ast.Load, ast.Constant, ast.Call, ast.Tuple, ast.List, ast.IfExp,
)


@dataclass(frozen=True)
class Parameter:
    name: str
    layer: str
    type: str
    default: Any
    low: float | None = None
    high: float | None = None
    step: int = 1
    choices: tuple = ()
    log: bool = False
    description: str = ""

    def values(self) -> list | range | None:
        """All legal values of a discrete parameter (an int's as a lazy ``range``: it
        may span 10**12 values); None for a float."""
        if self.type == "int":
            return range(int(self.low), int(self.high) + 1, self.step)
        if self.type == "pow2":
            return [1 << e for e in range(int(math.log2(self.low)), int(math.log2(self.high)) + 1)]
        if self.type == "choice":
            return list(self.choices)
        if self.type == "bool":
            return [False, True]
        return None

    def contains(self, value) -> bool:
        if self.type == "float":
            return isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high
        if self.type == "bool":
            return isinstance(value, bool)
        if self.type in ("int", "pow2") and (isinstance(value, bool) or not isinstance(value, int)):
            return False
        return value in self.values()

    def sample(self, rng):
        if self.type == "float":
            if self.log:
                return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
            return float(rng.uniform(self.low, self.high))
        values = self.values()
        return values[int(rng.integers(len(values)))]


@dataclass(frozen=True)
class Constraint:
    name: str
    expr: str
    code: Any = field(compare=False, repr=False)

    def holds(self, point: dict) -> bool:
        """Whether the point satisfies it; a point where it cannot be evaluated does not."""
        try:
            return self.evaluate(point)
        except ConstraintError:
            return False

    def evaluate(self, point: dict) -> bool:
        """Raises ConstraintError when the expression cannot be evaluated at ``point``."""
        try:
            # AST checked at load; arithmetic bounded by __arith__.
            return bool(eval(self.code, {"__builtins__": {}}, {**_FUNCTIONS, "__arith__": _arith, **point}))  # noqa: S307
        except ConstraintError:
            raise
        except ZeroDivisionError:
            raise ConstraintError("division by zero") from None
        except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
            raise ConstraintError(str(exc) or type(exc).__name__) from None


@dataclass(frozen=True)
class Objective:
    name: str
    goal: str  # "min" or "max"

    @property
    def sign(self) -> float:
        """Multiply by this to turn the objective into one to minimise."""
        return 1.0 if self.goal == "min" else -1.0


class Space:
    def __init__(self, path, name, parameters, constraints, objectives, description=""):
        self.path = Path(path)
        self.name = name
        self.description = description
        self.parameters: dict[str, Parameter] = parameters
        self.constraints: list[Constraint] = constraints
        self.objectives: list[Objective] = objectives
        # Bounds on results (qor_constraints.QorConstraint); a point breaking one is infeasible.
        self.qor_constraints: list = []

    # ---- views
    @property
    def names(self) -> list[str]:
        return list(self.parameters)

    def layer(self, layer: str) -> list[Parameter]:
        return [p for p in self.parameters.values() if p.layer == layer]

    def split(self, point: dict) -> tuple[dict, dict]:
        """(hardware values, eda values) of a point."""
        hw = {k: v for k, v in point.items() if self.parameters[k].layer == "hardware"}
        eda = {k: v for k, v in point.items() if self.parameters[k].layer == "eda"}
        return hw, eda

    def default_point(self) -> dict:
        return {p.name: p.default for p in self.parameters.values()}

    # ---- validity
    def violations(self, point: dict) -> list[str]:
        """Every reason the point is not in the space (empty when it is)."""
        problems = []
        missing = [n for n in self.parameters if n not in point]
        unknown = [n for n in point if n not in self.parameters]
        problems += [f"parameter '{n}' is missing" for n in missing]
        problems += [f"parameter '{n}' is not in the space" for n in unknown]
        if missing or unknown:
            return problems
        for p in self.parameters.values():
            if not p.contains(point[p.name]):
                problems.append(f"parameter '{p.name}' = {point[p.name]!r} is outside its domain")
        if problems:
            return problems
        for c in self.constraints:
            if not c.holds(point):
                problems.append(f"constraint '{c.name}' ({c.expr}) does not hold")
        return problems

    def is_valid(self, point: dict) -> bool:
        return not self.violations(point)

    def extreme_points(self) -> list[dict]:
        """The default point with one parameter at either end of its range, then every
        parameter at its low end and every one at its high end."""
        default = self.default_point()
        ends = {}
        for name, p in self.parameters.items():
            if p.type == "float" or p.type == "int":
                ends[name] = (p.low if p.type == "float" else int(p.low), p.high if p.type == "float" else int(p.high))
            else:
                values = p.values()
                ends[name] = (values[0], values[-1])
        points = [{**default, name: end} for name, pair in ends.items() for end in pair]
        points += [{name: pair[i] for name, pair in ends.items()} for i in (0, 1)]
        return points

    # ---- identity
    @staticmethod
    def canonical(point: dict) -> str:
        return json.dumps(point, sort_keys=True, separators=(",", ":"))

    def point_id(self, point: dict) -> str:
        return hashlib.sha256(self.canonical(point).encode()).hexdigest()[:12]

    # ---- enumeration and sampling
    def cardinality(self) -> float:
        """Size of the box before constraints (inf with a float parameter)."""
        size = 1.0
        for p in self.parameters.values():
            values = p.values()
            size *= math.inf if values is None else len(values)
        return size

    def enumerate_valid(self, limit: int = 200_000) -> list[dict] | None:
        """All valid points of a finite space of at most ``limit`` box points, else None."""
        if self.cardinality() > limit:
            return None
        names = self.names
        grids = [self.parameters[n].values() for n in names]
        points = (dict(zip(names, combo)) for combo in itertools.product(*grids))
        return [pt for pt in points if all(c.holds(pt) for c in self.constraints)]

    def sample(self, rng, max_tries: int = 10_000) -> dict:
        """One valid point by rejection sampling of the box."""
        for _ in range(max_tries):
            point = {p.name: p.sample(rng) for p in self.parameters.values()}
            if all(c.holds(point) for c in self.constraints):
                return point
        raise SpaceError(self.path, f"no valid point found in {max_tries} random draws; "
                                    "the constraints leave (almost) nothing of the space")


# ---------------------------------------------------------------- loading

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
                    None, None, f"key '{key}' is given twice (lines {seen[key]} and {line}); keep one",
                    key_node.start_mark)
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
        line = data[:exc.start].count(b"\n") + 1
        raise SpaceError(path, f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}); "
                               "save it as UTF-8") from None
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
        line = text[:exc.position].count("\n") + 1
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
        raise SpaceError(path, f"unknown top-level key(s) {sorted(unknown)}; expected name, description, "
                               "parameters, constraints, objectives, qor_constraints")
    raw_params = doc.get("parameters")
    if not isinstance(raw_params, dict) or not raw_params:
        raise SpaceError(path, "'parameters' must be a non-empty mapping of name -> definition")
    parameters = {str(name): _parse_parameter(path, str(name), spec) for name, spec in raw_params.items()}
    constraints = [_parse_constraint(path, i, c, parameters) for i, c in enumerate(doc.get("constraints") or [])]
    objectives = _parse_objectives(path, doc.get("objectives"))
    space = Space(path, str(doc.get("name", path.stem)), parameters, constraints, objectives,
                  str(doc.get("description", "")))
    for c in constraints:
        try:
            c.evaluate(space.default_point())
        except ConstraintError as exc:
            raise SpaceError(path, f"constraint '{c.name}' ({c.expr:.200}) cannot be evaluated at the default "
                                   f"point: {exc}") from None
    # A power that overflows at some other point would make that point (and every one like it)
    # silently invalid; the ends of each parameter's range are where powers are largest.
    for c in constraints:
        for point in space.extreme_points():
            try:
                c.evaluate(point)
            except ConstraintOverflow as exc:
                where = ", ".join(f"{k}={v}" for k, v in point.items() if v != space.default_point()[k])
                raise SpaceError(path, f"constraint '{c.name}' ({c.expr:.200}) overflows at {where or 'a point'}: "
                                       f"{exc}; bound the power's operands") from None
            except ConstraintError:
                pass  # e.g. a division by zero there: that point is invalid, as the module says
    space.qor_constraints = _parse_qor_constraints(path, doc.get("qor_constraints"))
    broken = [c for c in constraints if not c.holds(space.default_point())]
    if broken:
        raise SpaceError(path, f"the default point breaks constraint '{broken[0].name}' ({broken[0].expr}); "
                               "change the parameters' defaults")
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
        raise SpaceError(path, f"key(s) {sorted(extra)} do not apply to type '{ptype}' "
                               f"(allowed: {sorted(_COMMON_KEYS | _TYPE_KEYS[ptype])})", name)
    if "default" not in spec:
        raise SpaceError(path, "no 'default' given", name)
    kwargs = dict(name=name, layer=layer, type=ptype, default=spec["default"],
                  description=str(spec.get("description", "")))

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
                raise SpaceError(path, f"'{key}' must be {'an integer' if ptype != 'float' else 'a number'}, "
                                       f"got {value!r:.60}", name)
            if ptype == "float" and not math.isfinite(value):
                raise SpaceError(path, f"'{key}' must be finite, got {value!r}", name)
            if ptype != "float" and abs(value) > MAX_INT_MAGNITUDE:
                raise SpaceError(path, f"'{key}' = {value:.3g} is beyond the supported range "
                                       f"(magnitude up to 2**62)", name)
        if low > high:
            raise SpaceError(path, f"'low' ({low}) is greater than 'high' ({high})", name)
        if ptype == "pow2" and not (is_pow2(low) and is_pow2(high)):
            raise SpaceError(path, f"'low' and 'high' of a pow2 parameter must be powers of two, got {low}, {high}",
                             name)
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


def _parse_constraint(path, index, spec, parameters) -> Constraint:
    if isinstance(spec, str):
        spec = {"name": f"constraint_{index + 1}", "expr": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("expr"), str):
        raise SpaceError(path, f"constraint #{index + 1} must be a mapping with 'name' and 'expr'")
    name = str(spec.get("name", f"constraint_{index + 1}"))
    expr = spec["expr"]
    if len(expr) > MAX_EXPR_CHARS:
        raise SpaceError(path, f"constraint '{name}': expression of {len(expr):,} characters is too long "
                               f"(limit {MAX_EXPR_CHARS:,}); split it into several constraints")
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise SpaceError(path, f"constraint '{name}': cannot parse {expr!r:.200}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise SpaceError(path, f"constraint '{name}': expression nested too deeply to parse") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_EXPR_NODES:
        raise SpaceError(path, f"constraint '{name}': expression of {len(nodes)} terms is too large "
                               f"(limit {MAX_EXPR_NODES}); split it into several constraints")
    for node in nodes:
        if not isinstance(node, _ALLOWED_NODES):
            raise SpaceError(path, f"constraint '{name}': {type(node).__name__} is not allowed in {expr!r}")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS):
            raise SpaceError(path, f"constraint '{name}': only the functions {sorted(_FUNCTIONS)} may be called")
        if isinstance(node, ast.Name) and node.id not in parameters and node.id not in _FUNCTIONS:
            raise SpaceError(path, f"constraint '{name}': unknown name '{node.id}' in {expr!r}")
    tree = ast.fix_missing_locations(_BoundedArithmetic().visit(tree))
    try:
        code = compile(tree, f"<constraint {name}>", "eval")
    except (RecursionError, MemoryError):
        raise SpaceError(path, f"constraint '{name}': expression nested too deeply to compile") from None
    return Constraint(name=name, expr=expr, code=code)


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
