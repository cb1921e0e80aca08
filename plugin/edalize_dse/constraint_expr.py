"""Constraint expressions of a design space, evaluated in a sandbox.

An expression is Python-syntax arithmetic and comparisons over parameter names and a
few functions (``is_pow2 log2 min max abs``); anything else (attributes, subscripts,
lambdas, other names) is refused when the file loads. Evaluation is bounded: at most
``MAX_EXPR_NODES`` nodes, arithmetic on numbers only, and a power whose result would
exceed ``MAX_RESULT_BITS`` bits is an error (``ConstraintOverflow``), so no space file can
hang or exhaust a run. An expression that cannot be evaluated at a point (division by
zero, ``log2(0)``) is an error at the default point and makes any other point invalid."""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import Any

from edalize_dse.errors import SpaceError


def is_pow2(x) -> bool:
    return isinstance(x, (int, float)) and x >= 1 and float(x).is_integer() and (int(x) & (int(x) - 1)) == 0


_FUNCTIONS = {"is_pow2": is_pow2, "log2": math.log2, "min": min, "max": max, "abs": abs}

MAX_EXPR_CHARS = 2_000

MAX_EXPR_NODES = 400

MAX_RESULT_BITS = 4096


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
    return a**b


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
        call = ast.Call(
            func=ast.Name(id="__arith__", ctx=ast.Load()),
            args=[ast.Constant(type(node.op).__name__), node.left, node.right],
            keywords=[],
        )
        return ast.copy_location(call, node)


_ALLOWED_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Call,
    ast.Tuple,
    ast.List,
    ast.IfExp,
)


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


def parse_constraint(path, index, spec, parameters) -> Constraint:
    if isinstance(spec, str):
        spec = {"name": f"constraint_{index + 1}", "expr": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("expr"), str):
        raise SpaceError(path, f"constraint #{index + 1} must be a mapping with 'name' and 'expr'")
    name = str(spec.get("name", f"constraint_{index + 1}"))
    expr = spec["expr"]
    if len(expr) > MAX_EXPR_CHARS:
        raise SpaceError(
            path,
            f"constraint '{name}': expression of {len(expr):,} characters is too long "
            f"(limit {MAX_EXPR_CHARS:,}); split it into several constraints",
        )
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise SpaceError(path, f"constraint '{name}': cannot parse {expr!r:.200}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise SpaceError(path, f"constraint '{name}': expression nested too deeply to parse") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_EXPR_NODES:
        raise SpaceError(
            path,
            f"constraint '{name}': expression of {len(nodes)} terms is too large "
            f"(limit {MAX_EXPR_NODES}); split it into several constraints",
        )
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
