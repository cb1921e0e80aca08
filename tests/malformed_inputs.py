"""A seeded generator of malformed design-space files and run-option sets, for the
fuzz test (tests/test_fuzz_inputs.py): each case must end in one clear error line."""

from __future__ import annotations

import random

# A valid space of one cheap point, mutated into the bad cases.
BASE_PARAMETERS = {
    "meshRows": "{layer: hardware, type: choice, choices: [1], default: 1}",
    "meshColumns": "{layer: hardware, type: choice, choices: [1], default: 1}",
    "tileRows": "{layer: hardware, type: pow2, low: 1, high: 4, default: 2}",
    "tileColumns": "{layer: hardware, type: pow2, low: 1, high: 4, default: 2}",
    "inputType": "{layer: hardware, type: int, low: 4, high: 8, step: 4, default: 4}",
    "clock_period_ps": "{layer: eda, type: float, low: 500, high: 2000, default: 1000}",
    "ASAP7_USE_VT": "{layer: eda, type: choice, choices: [RVT, LVT], default: RVT}",
}
NAMES = list(BASE_PARAMETERS)

BAD_VALUES = [
    "",
    "~",
    "[]",
    "{}",
    "-1",
    "0",
    "1e400",
    ".nan",
    ".inf",
    "-.inf",
    "10000000000000000000000000",
    "'x'",
    "true",
    "[1, [2, [3]]]",
    "{a: 1}",
    "!!binary aGVsbG8=",
    "&a 1",
    "*missing",
    "0x10",
    "1_000",
    "'\\u0000'",
    "2.5",
    "-0",
    "1000000000000",
]
BAD_FIELDS = ["layer", "type", "low", "high", "step", "default", "choices", "log", "description", "weird"]
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "==", "<", ">=", "!=", "and", "or", "in"]
FUNCTIONS = ["log2", "is_pow2", "min", "max", "abs"]
ATOMS = NAMES[:5] + ["0", "1", "-1", "2", "10**10", "1e308", "'OS'", "[]", "()", "[1, 2]", "True", "None"]


def render(parameters: dict, constraints: list, objectives: str | None, name="fuzz") -> str:
    lines = [f"name: {name}", "parameters:"]
    lines += [f"  {k}: {v}" for k, v in parameters.items()]
    if constraints:
        lines.append("constraints:")
        quoted = (expr.replace("'", "''") for expr in constraints)  # YAML single-quoted scalars
        lines += [f"  - {{name: c{i}, expr: '{expr}'}}" for i, expr in enumerate(quoted)]
    if objectives is not None:
        lines.append(f"objectives: {objectives}")
    return "\n".join(lines) + "\n"


def expression(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 4 or roll < 0.3:
        return rng.choice(ATOMS)
    if roll < 0.45:
        return f"{rng.choice(FUNCTIONS)}({', '.join(expression(rng, depth + 1) for _ in range(rng.randint(0, 2)))})"
    if roll < 0.5:
        return f"not {expression(rng, depth + 1)}"
    return f"({expression(rng, depth + 1)} {rng.choice(OPERATORS)} {expression(rng, depth + 1)})"


def space_case(rng: random.Random) -> bytes:
    """One malformed (or, by chance, valid) space file's bytes."""
    params = dict(BASE_PARAMETERS)
    constraints = ["meshRows * tileRows == meshColumns * tileColumns"]
    objectives = "[{name: area_um2, goal: min}]"
    kind = rng.randrange(14)
    if kind == 0:  # a field with a bad value
        name = rng.choice(NAMES)
        field = rng.choice(BAD_FIELDS)
        params[name] = params[name][:-1] + f", {field}: {rng.choice(BAD_VALUES)}}}"
    elif kind == 1:  # a whole definition replaced
        params[rng.choice(NAMES)] = rng.choice(BAD_VALUES)
    elif kind == 2:  # random constraints
        constraints = [expression(rng) for _ in range(rng.randint(1, 3))]
    elif kind == 3:  # runaway or huge expressions
        constraints = [
            rng.choice(
                [
                    "inputType ** 10**10 > 1",
                    "2 ** 2 ** 2 ** 2 ** 2 ** 2 > 0",
                    " + ".join(["inputType"] * rng.randint(300, 3000)) + " > 0",
                    "(" * rng.randint(100, 400) + "1" + ")" * 400,
                    "inputType / (inputType - 4) > 0",
                    "log2(inputType - 4) > 0",
                    "'ab' * 10**9 == ''",
                    "max() > 0",
                    "min([]) > 0",
                    "1e308 * 1e308 > 0",
                    "inputType % 0 == 0",
                    "abs('x') > 0",
                    "inputType < 'x'",
                ]
            )
        ]
    elif kind == 4:  # objectives
        objectives = rng.choice(
            [
                "[]",
                "{}",
                "[{name: area_um2}]",
                "[{name: area_um2, goal: up}]",
                "[{name: no_such_metric, goal: min}]",
                "[area_um2]",
                "[{name: area_um2, goal: min}, {name: area_um2, goal: max}]",
                "7",
            ]
        )
    elif kind == 5:  # a key repeated
        name = rng.choice(NAMES)
        text = render(params, constraints, objectives)
        return (text.replace("parameters:\n", f"parameters:\n  {name}: {params[name]}\n", 1)).encode()
    elif kind == 6:  # a big int range, default or not in range
        params["inputType"] = rng.choice(
            [
                "{layer: hardware, type: int, low: 4, high: 1000000000000, default: 4}",
                "{layer: hardware, type: int, low: 4, high: 10000000000000000000000, default: 4}",
                "{layer: eda, type: int, low: 0, high: 1000000000000, default: 1}",
            ]
        )
    elif kind == 7:  # unknown layer/type/name
        params[rng.choice(["noSuchParam", "ASAP7_USE_VT", "meshRows"])] = rng.choice(
            [
                "{layer: hardware, type: int, low: 1, high: 2, default: 1}",
                "{layer: software, type: int}",
                "{layer: eda, type: choice, choices: [], default: 1}",
                "{layer: eda, type: bool, default: 2}",
            ]
        )
    text = render(params, constraints, objectives).encode()
    if kind == 8:  # truncated
        text = text[: rng.randrange(len(text))]
    elif kind == 9:  # bytes flipped
        data = bytearray(text)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        text = bytes(data)
    elif kind == 10:  # binary, non-UTF-8, empty
        text = rng.choice(
            [
                bytes(rng.randrange(256) for _ in range(200)),
                "name: café\n".encode("latin-1"),
                b"",
                b"   \n",
                b"\xff\xfe" + "parameters: {}".encode("utf-16-le"),
                b"\x00" * 64,
            ]
        )
    elif kind == 11:  # deep nesting
        depth = rng.randint(50, 20000)
        text = rng.choice([b"[" * depth + b"]" * depth, b"{a: " * depth + b"1" + b"}" * depth])
    elif kind == 12:  # YAML syntax broken or not a mapping
        text = rng.choice(
            [
                b"parameters: [",
                b"- 1\n- 2\n",
                b"42",
                b"parameters:\n\t- x",
                b"a: b: c",
                b"parameters: !!python/object:os.system {}",
                b"%YAML 9.9\n---\n",
            ]
        )
    elif kind == 13:  # a top-level key misspelt
        text = text.replace(b"objectives", rng.choice([b"objective", b"Objectives", b"goals"]))
    return text


# Option sets: each one bad option over a good base (run.json values, as a user writes them).
BAD_OPTIONS = {
    "budget": [0, -1, "2", 2.5, None, [], 10**30, True],
    "seed": [-1, "x", 1.5, 2**70],
    "workers": ["2", 0, -3, 10**9, 1.5, {}],
    "strategy": ["nope", "", 3, ["random"]],
    "strategy_options": [
        {"init_points": "x"},
        {"init_points": -1},
        {"nope": 1},
        {"candidates": 10**12},
        {"explore": 2.0},
        {"cfg_weight": float("nan")},
        "init_points=3",
        [],
        {"init_points": 1e300},
    ],
    "tool_timeout": [0, -5, "10", float("inf"), 1e300, [1]],
    "cache_dir": ["", 3, "<file>", "<file>/sub"],
    "output": ["", "<file>", "<file>/sub", 5],
    "generator": ["verilog", "", 0],
    "fidelity": ["fast", "synth+", "orfs+synth"],
    "activity": [0, -1, 3, "0.1", float("nan")],
    "objectives": ["", ",", "area_um2:up", "nope", "area_um2,area_um2", 7],
    "workload": ["no_such_workload", "<file>", 3],
    "promote": [-1, "3"],
    "dram_pj_per_byte": [0, -1, "x"],
    "space": ["<missing>", "<dir>", "", 4],
}


def option_case(rng: random.Random) -> tuple[str, object]:
    name = rng.choice(sorted(BAD_OPTIONS))
    return name, rng.choice(BAD_OPTIONS[name])
