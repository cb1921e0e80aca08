"""NSGA-II through Optuna: repaired proposals (invalid or already seen points
replaced by the nearest valid unseen one) count in the sampler's generations, so
the search leaves its random first generation. The space is small and tightly
constrained, so many of Optuna's suggestions are repaired ones."""

from optuna.trial import TrialState

from edalize_dse.space import load_space
from edalize_dse.store import Evaluation
from edalize_dse.strategies import make_strategy

from conftest import write_space

GENERATION = "NSGAIISampler:generation"
PARENTS = "NSGAIISampler:parent:"

SPACE = """
name: nsga2_tiny
parameters:
  x: {layer: hardware, type: int, low: 0, high: 15, default: 0}
  y: {layer: hardware, type: int, low: 0, high: 15, default: 0}
  flavour: {layer: eda, type: choice, choices: [a, b, c], default: a}
constraints:
  - {name: small_sum, expr: "x + y <= 8"}
objectives:
  - {name: area_um2, goal: min}
  - {name: power_mw, goal: min}
"""


def qor(p):
    bias = "abc".index(p["flavour"])
    return {"area_um2": p["x"] + bias + 1.0, "power_mw": (8 - p["x"]) ** 2 + p["y"] + 2.0 * bias}


def test_repaired_points_fill_generations_so_nsga2_breeds(tmp_path):
    space = load_space(write_space(tmp_path, SPACE))
    strategy = make_strategy("nsga2", space, seed=0, population_size=6)
    for _ in range(10):  # 30 told points: five populations' worth
        points = strategy.ask(3)
        strategy.tell([Evaluation(space.point_id(p), p, "ok", qor(p)) for p in points])
    study = strategy.study
    assert len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,))) >= 6  # repairs happened
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    assert len(completed) == 30
    # Every evaluated point belongs to a generation, and the generations advance.
    assert all(t.system_attrs.get(GENERATION) is not None for t in completed)
    assert max(t.system_attrs[GENERATION] for t in completed) >= 3
    # A later generation was bred from parents the sampler selected (not drawn at random).
    attrs = study._storage.get_study_system_attrs(study._study_id)  # where the sampler caches its parents
    selected = [k for k in attrs if k.startswith(PARENTS)]
    assert selected and all(attrs[k] for k in selected)
