"""The dosa strategy: workload terms from the analytical model alone, synthesis-only
quantities learnt from measured points, predictions that follow the model."""

import pytest
import torch

from edalize_dse.explore import objectives_from_option
from edalize_dse.space import load_space
from edalize_dse.store import Evaluation
from edalize_dse.strategies import make_strategy

from conftest import SPACE

torch.set_num_threads(1)


def synthetic_qor(p):
    """Numbers shaped like the synth flow's: area and power grow with the PEs, fmax flat."""
    pes = (p["meshRows"] * p["tileRows"]) ** 2
    return {
        "stdcell_area_um2": 90.0 * pes,
        "area_um2": 90.0 * pes + 8000,
        "power_seq_mw": 0.05 * pes,
        "power_comb_mw": 0.1 * pes,
        "power_leakage_mw": 0.4,
        "fmax_mhz": 800.0,
    }


@pytest.fixture(scope="module")
def told(platform_dir):
    space = load_space(SPACE)
    space.objectives = objectives_from_option(["latency_ms", "area_um2"])
    strategy = make_strategy("dosa", space, seed=0, init_points=6, max_hardware=6, workload="tiny_cnn")
    points = strategy.ask(6)
    strategy.tell(
        [
            Evaluation(
                space.point_id(p),
                p,
                "ok",
                dict(synthetic_qor(p), latency_ms=1.0, area_um2=synthetic_qor(p)["area_um2"]),
            )
            for p in points
        ]
    )
    return space, strategy


def test_bigger_array_is_predicted_faster_and_larger(told):
    space, strategy = told
    small = dict(space.default_point(), meshRows=2, tileRows=2, meshColumns=2, tileColumns=2)
    big = dict(small, meshRows=4, meshColumns=4)
    assert space.is_valid(small) and space.is_valid(big)
    weights = strategy._fit([e for e in strategy.history if e.ok])
    (lat_small, area_small), (lat_big, area_big) = strategy._predict(weights, [small, big])
    assert lat_big < lat_small and area_big > area_small
    # The latency is the model's: cycles of the mapped workload at the learnt fmax.
    terms = strategy.hardware_terms({k: small[k] for k in strategy.hardware_names})
    assert lat_small == pytest.approx(terms["cycles"] / (800.0 * 1e3), rel=0.05)


def test_model_round_proposes_valid_unseen_points(told):
    space, strategy = told
    points = strategy.ask(3)
    assert len(points) == 3 and all(space.is_valid(p) for p in points)
    assert not {space.canonical(p) for p in points} & strategy.evaluated
    assert strategy.model_rounds == 1 and strategy.round_times[-1]["model_s"] > 0
