"""Search strategies behind one ask/tell interface (see ``base.Strategy``).

Each strategy class lists the options it takes in ``OPTIONS`` (name -> meaning);
``make_strategy`` refuses any other with one message naming the known ones."""

from __future__ import annotations

from edalize_dse.errors import DseError

DEFAULT_STRATEGY = "diffusion"


# name -> module and class; a strategy's module (and its torch, Optuna or BoTorch)
# is imported only when that strategy is asked for.
REGISTRY = {
    "diffusion": ("diffusion.strategy", "DiffusionStrategy"),
    "random": ("random", "RandomStrategy"),
    "sobol": ("sobol", "SobolStrategy"),
    "nsga2": ("optuna_based", "Nsga2Strategy"),
    "motpe": ("optuna_based", "MotpeStrategy"),
    "qnehvi": ("qnehvi", "QnehviStrategy"),
    "dosa": ("dosa", "DosaStrategy"),
    "grid": ("grid", "GridStrategy"),
}


def strategy_class(name: str):
    import importlib

    if name not in REGISTRY:
        raise DseError(f"unknown strategy '{name}'; available: {', '.join(sorted(REGISTRY))}")
    module, cls = REGISTRY[name]
    return getattr(importlib.import_module(f"edalize_dse.strategies.{module}"), cls)


def available() -> dict:
    """Every strategy class by name (imports them all)."""
    return {name: strategy_class(name) for name in REGISTRY}


def parse_options(items) -> dict:
    """``["k=v", ...]`` or ``"k=v,k=v"`` -> {k: v}, values read as YAML scalars (numbers, booleans)."""
    import yaml

    if isinstance(items, str):
        items = [i for i in items.split(",") if i.strip()]
    options = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise DseError(f"strategy option {item!r} is not KEY=VALUE (e.g. init_points=16)")
        try:
            options[key.strip()] = yaml.safe_load(value.strip()) if value.strip() else ""
        except (yaml.YAMLError, RecursionError):
            options[key.strip()] = value.strip()  # not a YAML scalar: the option's type check says what it needs
    return options


# Strategy options are counts and weights of small models: anything larger is a typo
# that would exhaust the machine in the first round, not a setting.
OPTION_LIMIT = 1_000_000


def option_defaults(cls) -> dict:
    """The strategy class's options with their constructor defaults (space and seed are not options)."""
    import inspect

    return {
        p.name: p.default
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.default is not inspect.Parameter.empty and p.name != "seed"
    }


def check_option_types(name: str, cls, options: dict) -> None:
    """Each option's value has the type of its default in the strategy's constructor."""
    import math

    defaults = option_defaults(cls)
    for key, value in options.items():
        default = defaults.get(key)
        where = f"strategy '{name}' option '{key}'"
        if isinstance(default, bool) or default is None:
            continue
        if isinstance(default, int):
            if isinstance(value, float) and value.is_integer():
                value = options[key] = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= OPTION_LIMIT:
                raise DseError(f"{where} must be an integer from 0 to {OPTION_LIMIT:,}, got {value!r:.60}")
        elif isinstance(default, float):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or abs(value) > OPTION_LIMIT
            ):
                raise DseError(f"{where} must be a number of magnitude up to {OPTION_LIMIT:,}, got {value!r:.60}")
            options[key] = float(value)
        elif isinstance(default, str) and not isinstance(value, str):
            raise DseError(f"{where} must be a string, got {value!r:.60}")


def check_options(name: str, options: dict):
    """The strategy's class, once its name and option names are known good (DseError otherwise)."""
    cls = strategy_class(name)
    known = getattr(cls, "OPTIONS", {})
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise DseError(
            f"strategy '{name}' has no option(s) {', '.join(unknown)}; "
            f"its options: {', '.join(sorted(known)) or 'none'}"
        )
    check_option_types(name, cls, options)
    return cls


def make_strategy(name: str, space, seed: int, **options):
    options = dict(options)
    cls = check_options(name, options)
    try:
        return cls(space, seed=seed, **options)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DseError(f"strategy '{name}': bad option value: {exc}") from None
