"""Workload files, the analytical array model and the mapping search."""

import itertools

import pytest
import torch

from edalize_dse.errors import DseError
from edalize_dse.workload.layers import load_workload, shipped
from edalize_dse.workload.mapping import divisors, evaluate, exhaustive_search, gradient_search
from edalize_dse.workload.model import ORDERS, ArrayModel, blocks, cost, feasible, traffic_multiplier

from conftest import write_space


def array(**overrides):
    base = dict(
        dim=4,
        dataflows=("OS", "WS"),
        block_cycles={"OS": 30, "WS": 34},
        sp_bytes=16 * 1024,
        acc_bytes=8 * 1024,
        in_bytes=1,
        acc_elem_bytes=4,
        clock_mhz=800,
        e_mac_pj=0.2,
        e_sp_read_pj=1.0,
        e_sp_write_pj=1.2,
        e_acc_read_pj=2.0,
        e_acc_write_pj=2.5,
        leakage_mw=0.5,
    )
    return ArrayModel(**{**base, **overrides})


def test_shipped_workloads_have_the_published_sizes():
    assert {"resnet50", "bert_base_s128", "tiny_cnn"} <= set(shipped())
    resnet = load_workload("resnet50")
    convs = sum(layer.count for layer in resnet.layers if layer.type == "conv")
    assert convs == 53 and 4.0e9 < resnet.macs < 4.2e9  # ResNet-50: ~4.1 GMAC per 224x224 image
    bert = load_workload("bert_base_s128")
    # 4 x 128x768x768 projections + 2 x 128x768x3072 FFN + 2 x 12 heads x 128x64x128
    assert bert.macs == 4 * 128 * 768 * 768 + 2 * 128 * 768 * 3072 + 2 * 12 * 128 * 64 * 128


def test_conv_runs_as_an_im2col_matrix_multiply():
    layer = next(layer for layer in load_workload("resnet50").layers if layer.name == "conv1")
    assert layer.gemm() == (112 * 112, 3 * 7 * 7, 64)


@pytest.mark.parametrize(
    "text, message",
    [
        ("layers: []", "non-empty 'layers'"),
        ("layers: [{name: a, type: conv, R: 3, S: 3, P: 8, Q: 8, C: 4}]", "layer 'a': K must be a positive integer"),
        ("layers: [{name: a, type: matmul, M: 4, K: 4, N: 4, R: 1}]", "layer 'a': unknown field(s) ['R']"),
        ("layers: [{name: a, type: pool, M: 4}]", "layer 'a': type must be conv or matmul"),
    ],
)
def test_bad_workload_files_name_the_file_and_layer(tmp_path, text, message):
    path = write_space(tmp_path, text, "w.yml")
    with pytest.raises(DseError) as err:
        load_workload(path)
    assert str(path) in str(err.value) and message in str(err.value)
    with pytest.raises(DseError, match="neither a file nor a shipped workload"):
        load_workload("no_such_network")


def test_operand_refetch_follows_the_loop_order():
    trips = {"m": torch.tensor(3.0), "k": torch.tensor(5.0), "n": torch.tensor(7.0)}
    # n innermost: A (m, k) is reused across n; B (k, n) is fetched again for every m.
    assert float(traffic_multiplier("mkn", "mk", trips)) == 1
    assert float(traffic_multiplier("mkn", "kn", trips)) == 3
    # k innermost: the partial sums of C stay in the accumulator.
    assert float(traffic_multiplier("mnk", "mn", trips)) == 1
    assert float(traffic_multiplier("kmn", "mn", trips)) == 5


def test_compute_cycles_follow_the_controller_schedule():
    hw = array()
    v = cost(hw, (2, 3, 4), torch.tensor([2.0, 3.0, 1.0], dtype=torch.float64), "mkn", "OS")
    # 24 blocks of 30 cycles, 4 commands of 2x3x1 blocks, one cycle each to accept
    assert float(v["compute_cycles"]) == 24 * 30 + 4


def test_exhaustive_optimum_is_feasible_and_minimal():
    hw = array(dram_bytes_per_cycle=0.5)  # memory-bound: the mapping matters
    gemm = (32, 48, 24)
    best = exhaustive_search(hw, gemm, objective="latency")
    assert feasible(hw, best.tiles)
    for tiles in itertools.product(*(divisors(n) for n in blocks(gemm, 4))):
        if feasible(hw, tiles):
            for order in ORDERS:
                assert evaluate(hw, gemm, tiles, order, "OS").cycles >= best.cycles - 1e-6


@pytest.mark.slow  # an exhaustive search of every mapping, for reference
@pytest.mark.parametrize("bandwidth", [16.0, 0.5])
def test_gradient_search_is_within_5_percent_of_exhaustive(bandwidth):
    hw = array(dram_bytes_per_cycle=bandwidth)
    layers = [layer.gemm() for layer in load_workload("tiny_cnn").layers] + [(128, 64, 128), (64, 96, 48)]
    found = gradient_search(hw, layers, objective="latency")
    for gemm, mapping in zip(layers, found):
        best = exhaustive_search(hw, gemm, objective="latency")
        assert feasible(hw, mapping.tiles)
        assert mapping.cycles <= 1.05 * best.cycles, (gemm, mapping, best)


def test_larger_scratchpad_never_hurts_a_memory_bound_layer():
    small = exhaustive_search(array(dram_bytes_per_cycle=0.05, sp_bytes=2048), (64, 64, 64), "latency")
    large = exhaustive_search(array(dram_bytes_per_cycle=0.05, sp_bytes=65536), (64, 64, 64), "latency")
    assert large.cycles < small.cycles and small.bound == "memory"
