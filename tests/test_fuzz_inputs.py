"""Fuzz test of the inputs: a few hundred generated malformed design-space
files and run-option sets (tests/malformed_inputs.py, fixed seed). Each must end, in
under a second, either accepted or in one DseError line; never in another exception
(a traceback for the user) or a hang. A few go through the command line as well."""

from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest

from edalize_dse.errors import DseError
from edalize_dse.explore import RunConfig, check_inputs

from malformed_inputs import BASE_PARAMETERS, option_case, render, space_case

SEED = 17
CASES = 300
GOOD_SPACE = render(
    BASE_PARAMETERS, ["meshRows * tileRows == meshColumns * tileColumns"], "[{name: area_um2, goal: min}]"
)


def cases(tmp_path):
    """(label, run options) of each case; space files are written into ``tmp_path``."""
    rng = random.Random(SEED)
    good = tmp_path / "good.yml"
    good.write_text(GOOD_SPACE)
    (tmp_path / "afile").write_text("a file, not a folder")
    (tmp_path / "adir").mkdir()
    places = {
        "<file>": str(tmp_path / "afile"),
        "<dir>": str(tmp_path / "adir"),
        "<missing>": str(tmp_path / "missing.yml"),
    }
    for i in range(CASES):
        options = dict(space=str(good), output=str(tmp_path / "out"), strategy="random")
        if i % 2 == 0:
            path = tmp_path / f"space{i}.yml"
            path.write_bytes(space_case(rng))
            options["space"] = str(path)
            yield f"space file {path.name}", options
        else:
            name, value = option_case(rng)
            if isinstance(value, str):
                for marker, place in places.items():
                    value = value.replace(marker, place)
            options[name] = value
            yield f"option {name}={value!r:.80}", options


def test_malformed_inputs_end_in_one_line_within_a_second(tmp_path, platform_dir):
    import edalize_dse.strategies.diffusion.strategy  # noqa: F401 - torch is imported once, not inside a timed case
    import edalize_dse.workload.hardware  # noqa: F401 - and the workload model (scipy), about 2 s
    from edalize_dse.platform import find_platform

    find_platform().check_liberty()  # likewise the liberty files' one check per process (read, then memoised)

    refused = accepted = 0
    problems = []
    for label, options in cases(tmp_path):
        start = time.perf_counter()
        try:
            check_inputs(RunConfig(**options))
            accepted += 1
        except DseError as exc:
            refused += 1
            if "\n" in str(exc) or not str(exc).strip():
                problems.append(f"{label}: not one line: {str(exc)!r:.300}")
        except BaseException as exc:  # noqa: BLE001 - what the fuzz test looks for
            problems.append(f"{label}: {type(exc).__name__}: {exc!s:.200}")
        elapsed = time.perf_counter() - start
        if elapsed > 1.0:
            problems.append(f"{label}: took {elapsed:.2f} s")
    assert not problems, "\n".join(problems)
    assert refused > 0.8 * CASES  # the generator makes bad inputs (a mutation may leave one valid)


@pytest.mark.parametrize("index", [0, 2, 4, 6, 8, 10])
def test_malformed_space_files_through_the_command_line(tmp_path, index):
    rng = random.Random(SEED + index)
    path = tmp_path / "space.yml"
    path.write_bytes(space_case(rng))
    run = subprocess.run(
        [sys.executable, "-m", "edalize_dse", "check-space", str(path)], capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines()
        assert run.returncode == 2 and len(lines) == 1 and lines[0].startswith("edalize-dse: error: "), run.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--workers", "0"],
        ["--budget", "x"],
        ["--tool-timeout", "-1"],
        ["--strategy-option", "init_points=[", "--strategy", "diffusion"],
    ],
)
def test_bad_options_through_the_command_line(tmp_path, args):
    space = tmp_path / "space.yml"
    space.write_text(GOOD_SPACE)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "edalize_dse",
            "run",
            "--space",
            str(space),
            "--output",
            str(tmp_path / "out"),
            "--no-progress",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.stderr.strip().splitlines()[-1].startswith("edalize-dse"), run.stderr
    assert not (tmp_path / "out").exists()  # refused before anything was made
