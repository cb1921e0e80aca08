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
        try:
            options[key.strip()] = yaml.safe_load(value.strip()) if value.strip() else ""
        except (yaml.YAMLError, RecursionError):
            options[key.strip()] = value.strip()  # not a YAML scalar: the option's type check says what it needs
    return options


# Strategy options are counts and weights of small models: anything larger is a typo
# that would exhaust the machine in the first round, not a setting.
OPTION_LIMIT = 1_000_000


def check_option_types(name: str, cls, options: dict) -> None:
    """Each option's value has the type of its default in the strategy's constructor."""
    import inspect
    import math

    defaults = {p.name: p.default for p in inspect.signature(cls.__init__).parameters.values()}
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
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or abs(value) > OPTION_LIMIT:
                raise DseError(f"{where} must be a number of magnitude up to {OPTION_LIMIT:,}, got {value!r:.60}")
            options[key] = float(value)
        elif isinstance(default, str) and not isinstance(value, str):
            raise DseError(f"{where} must be a string, got {value!r:.60}")


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
    options = dict(options)
    check_option_types(name, cls, options)
    try:
        return cls(space, seed=seed, **options)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DseError(f"strategy '{name}': bad option value: {exc}") from None
