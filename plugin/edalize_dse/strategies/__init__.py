"""Search strategies behind one ask/tell interface (see ``base.Strategy``).

Each strategy class lists the options it takes in ``OPTIONS`` (name -> meaning);
``make_strategy`` refuses any other with one message naming the known ones."""

from __future__ import annotations

from edalize_dse.errors import DseError

DEFAULT_STRATEGY = "diffusion"


def available() -> dict:
    # Imported here: the model-based strategies pull in torch, Optuna or BoTorch.
    from edalize_dse.strategies.diffusion import DiffusionStrategy
    from edalize_dse.strategies.dosa import DosaStrategy
    from edalize_dse.strategies.grid import GridStrategy
    from edalize_dse.strategies.optuna_based import MotpeStrategy, Nsga2Strategy
    from edalize_dse.strategies.qnehvi import QnehviStrategy
    from edalize_dse.strategies.random import RandomStrategy
    from edalize_dse.strategies.sobol import SobolStrategy

    classes = (DiffusionStrategy, RandomStrategy, SobolStrategy, Nsga2Strategy, MotpeStrategy, QnehviStrategy,
               DosaStrategy, GridStrategy)
    return {cls.name: cls for cls in classes}


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


def make_strategy(name: str, space, seed: int, **options):
    strategies = available()
    if name not in strategies:
        raise DseError(f"unknown strategy '{name}'; available: {', '.join(sorted(strategies))}")
    cls = strategies[name]
    known = getattr(cls, "OPTIONS", {})
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise DseError(f"strategy '{name}' has no option(s) {', '.join(unknown)}; "
                       f"its options: {', '.join(sorted(known)) or 'none'}")
    try:
        return cls(space, seed=seed, **options)
    except (TypeError, ValueError) as exc:
        raise DseError(f"strategy '{name}': bad option value: {exc}") from None
