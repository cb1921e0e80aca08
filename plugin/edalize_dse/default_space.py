"""A design space for a core that has none: the zero-configuration start.

A FuseSoC target with ``flow: dse`` and ``generator: core`` but no design-space
file explores a default space, written as an ordinary space file the user can
edit and pass back (flow option ``space``):

- hardware: each declared integer ``vlogparam`` around its value (the value,
  half and double it; a 0 default gives 0 and 1, a flag or a pipeline switch);
  a parameter whose range cannot be guessed (a string, a bool, a negative
  number) keeps its value and is left out;
- EDA: the flow's knobs whose legal values are few and known (clock target
  at half, one and two times the default, threshold flavours, ABC scripts,
  Booth multipliers); the other knobs keep their defaults;
- objectives: area and power minimised, fmax maximised (a user core has no
  throughput model)."""

from __future__ import annotations

from pathlib import Path

import yaml

DEFAULT_SPACE_FILE = "default_space.yml"
OBJECTIVES = (("area_um2", "min"), ("power_mw", "min"), ("fmax_mhz", "max"))


def _eda_choices(flow, clock_ps=None) -> dict:
    """knob -> the values the default space tries (its default first), for the knobs of ``flow``;
    ``clock_ps`` is the design's own clock (its SDC), else the knob's default."""
    from edalize_dse.flows.synth import abc_scripts

    if clock_ps:  # a design that has its own clock: closer steps around it
        clock = clock_ps
        periods = [clock, round(clock * 0.8, 3), round(clock * 1.25, 3)]
    else:
        clock = flow.KNOBS["clock_period_ps"].default if "clock_period_ps" in flow.KNOBS else 1000
        periods = [clock, clock // 2, clock * 2]
    wanted = {
        "clock_period_ps": periods,
        "ASAP7_USE_VT": ["RVT", "LVT", "SLVT"],
        "abc_script": [s for s in ("speed", "area", "balanced") if s in abc_scripts()],
        "booth": [0, 1],
    }
    choices = {}
    for name, values in wanted.items():
        knob = flow.KNOBS.get(name)
        legal = [v for v in values if knob is not None and knob.problem(v) is None]
        if len(legal) > 1:
            choices[name] = legal
    return choices


def _around(value) -> list | None:
    """Values tried for an integer vlogparam, or None when no range can be guessed."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    if value == 0:
        return [0, 1]
    return sorted({max(1, value // 2), value, value * 2})


def default_space(name: str, vlogparams: dict, flow, clock_ps=None) -> dict:
    """The space document (as YAML would load it) for a core's vlogparams and a flow."""
    parameters = {}
    for pname, value in vlogparams.items():
        values = _around(value)
        if values:
            parameters[pname] = {
                "layer": "hardware",
                "type": "choice",
                "choices": values,
                "default": value,
                "description": f"vlogparam (core value {value})",
            }
    for knob, values in _eda_choices(flow, clock_ps).items():
        parameters[knob] = {
            "layer": "eda",
            "type": "choice",
            "choices": values,
            "default": values[0],
            "description": flow.KNOBS[knob].meaning,
        }
    return {
        "name": f"{name}_default",
        "description": "default space written by edalize-dse (no design-space file was given); edit it and "
        "pass it back with the flow option 'space'",
        "parameters": parameters,
        "objectives": [{"name": n, "goal": g} for n, g in OBJECTIVES],
    }


def write(path: Path, doc: dict) -> str:
    """Write the space file; returns its text (printed at the start of the run)."""
    text = (
        "# Default design space (zero-configuration start): the core's vlogparams around their values and\n"
        "# the flow's EDA knobs. Edit it and pass it back with --space / the flow option 'space'.\n"
        + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=110)
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return text
