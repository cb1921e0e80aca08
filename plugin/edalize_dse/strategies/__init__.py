"""Search strategies behind one ask/tell interface (see ``base.Strategy``)."""

from __future__ import annotations

from edalize_dse.errors import DseError


def available() -> dict:
    from edalize_dse.strategies.random import RandomStrategy

    return {RandomStrategy.name: RandomStrategy}


def make_strategy(name: str, space, seed: int, **options):
    strategies = available()
    if name not in strategies:
        raise DseError(f"unknown strategy '{name}'; available: {', '.join(sorted(strategies))}")
    return strategies[name](space, seed=seed, **options)
