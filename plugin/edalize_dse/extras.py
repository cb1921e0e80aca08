"""Heavy libraries a run needs only for some choices are extras of the package, as
``setup.cfg`` declares them: the base install explores with diffusion, random, Sobol
and the Optuna strategies on this machine. A choice whose extra is not installed is
refused with the ``pip install`` that adds it, before any point runs."""

from __future__ import annotations

import importlib.util

from edalize_dse.errors import DseError

# extra -> the modules it installs (the names setup.cfg's extras_require gives them).
EXTRAS = {
    "bo": ("botorch", "gpytorch"),
    "ray": ("ray",),
    "dask": ("dask", "distributed"),
    "report": ("plotly",),
}


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` this interpreter cannot import."""
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def require(extra: str, what: str) -> None:
    """Raise DseError naming ``what`` (e.g. "strategy 'qnehvi'") when ``extra`` is not installed."""
    gone = missing(extra)
    if gone:
        raise DseError(f"{what} needs {' and '.join(gone)}: pip install 'edalize-dse[{extra}]'")
