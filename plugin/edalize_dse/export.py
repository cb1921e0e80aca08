"""Hand-off of a chosen point: the files to run it by hand in OpenROAD-flow-scripts
(``config.mk``, ``constraint.sdc``, its RTL) and, for a Gemmini point, the Chipyard
Scala configuration that builds the same array with the real generator."""

from __future__ import annotations

from pathlib import Path

from edalize_dse.errors import DseError
from edalize_dse.explore import RUN_RECORD, RunConfig
from edalize_dse.flows.orfs import OrfsFlow
from edalize_dse.generators import get_generator
from edalize_dse.generators.chipyard import SCALA_VALUES, config_name, render_scala
from edalize_dse.space import load_space
from edalize_dse.store import STORE_NAME, Store


def export_point(output: Path, point_id: str, dest: Path | None = None) -> tuple[Path, list[str]]:
    """Write the hand-off files of ``point_id`` into ``dest`` (default
    ``<output>/export/<point_id>``); return the folder and notes for the user."""
    output = Path(output)
    record = output / RUN_RECORD
    if not (output / STORE_NAME).is_file() or not record.is_file():
        raise DseError(f"'{output}' is not an edalize-dse output directory (no {STORE_NAME} and {RUN_RECORD})")
    config = RunConfig.from_json(record)
    store = Store(output / STORE_NAME)
    try:
        found = [e for e in store.evaluations() if e.point_id == point_id]
    finally:
        store.close()
    if not found:
        raise DseError(f"point '{point_id}' is not in {output / STORE_NAME}; see evaluations.csv for the ids")
    space = load_space(config.space)
    hw, eda = space.split(found[0].params)
    dest = Path(dest) if dest else output / "export" / point_id
    dest.mkdir(parents=True, exist_ok=True)
    generator = get_generator(
        config.generator, core=config.core, chipyard_root=config.chipyard_root, clock_port=config.clock_port
    )
    hw_config = generator.resolve(hw)
    design = generator.generate(hw_config, dest / "rtl")

    flow = OrfsFlow()
    notes = []
    # Knobs ORFS has no variable for (booth, retime, ...) or values it cannot take.
    kept = {}
    for name, value in eda.items():
        if name in flow.KNOBS and not flow.check_knobs({name: value}):
            kept[name] = value
        else:
            notes.append(f"{name} = {value!r} has no OpenROAD-flow-scripts counterpart and is not exported")
    ctx = flow.render(design, kept, dest, point_id=point_id)
    (dest / "run_orfs.sh").write_text(
        "#!/bin/sh\n# Point " + point_id + " through OpenROAD-flow-scripts; FLOW_HOME = the ORFS 'flow' folder.\n"
        f'make -C "$FLOW_HOME" DESIGN_CONFIG="{ctx["config_mk"]}" WORK_HOME="${{WORK_HOME:-{dest / "work"}}}" '
        f"FLOW_VARIANT={point_id} finish metadata-generate\n"
    )
    (dest / "run_orfs.sh").chmod(0o755)
    if config.generator in ("embedded", "chipyard"):
        gemmini = {k: v for k, v in hw_config.items() if k in SCALA_VALUES}
        name = config_name(gemmini)
        (dest / f"{name}.scala").write_text(render_scala(gemmini, name))
        notes.append(
            f"Chipyard: copy {name}.scala into generators/chipyard/src/main/scala/config/ and build "
            f"CONFIG={name}Config CONFIG_PACKAGE=chipyard.edalizedse"
        )
    return dest, notes
