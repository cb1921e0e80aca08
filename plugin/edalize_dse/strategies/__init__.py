"""Search strategies behind one ask/tell interface (see ``base.Strategy``).

Each strategy class lists the options it takes in ``OPTIONS`` (name -> meaning);
``make_strategy`` refuses any other with one message naming the known ones."""

from __future__ import annotations

from edalize_dse.errors import DseError

DEFAULT_STRATEGY = "diffusion"


# name -> module and class; a strategy's module (and its torch, Optuna or BoTorch)
# is imported only when that strategy is asked for.
REGISTRY = {
    "diffusion": ("diffusion", "DiffusionStrategy"),
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
        options[key.strip()] = yaml.safe_load(value.strip()) if value.strip() else ""
    return options


def check_options(name: str, options: dict):
    """The strategy's class, once its name and option names are known good (DseError otherwise)."""
    cls = strategy_class(name)
    known = getattr(cls, "OPTIONS", {})
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise DseError(f"strategy '{name}' has no option(s) {', '.join(unknown)}; "
                       f"its options: {', '.join(sorted(known)) or 'none'}")
    return cls


def make_strategy(name: str, space, seed: int, **options):
    cls = check_options(name, options)
    try:
        return cls(space, seed=seed, **options)
    except (TypeError, ValueError) as exc:
        raise DseError(f"strategy '{name}': bad option value: {exc}") from None
