"""``dosa``: hardware co-search through the analytical model (model fidelity), the
DOSA idea on this project's array, as a fast pre-screen before synth runs.

After a small space-filling design run through the real flow, every round:

1. the workload terms of a hardware configuration come from the analytical model
   alone, with every layer mapped by gradient search (``workload.mapping``):
   cycles, padded MACs, SRAM row-access energy (the SRAM macro model fitted to
   the platform's fakeram7 views, no synthesis needed), DRAM bytes, macro area.
   They depend on the hardware parameters only and are cached;
2. what only synthesis knows (standard-cell area, energy per MAC slot, fmax,
   leakage, and any other objective) comes from ridge regressions on the points
   the flow has measured, in log space, over the encoded parameters;
3. together they predict ``latency_ms``, ``energy_mj``, ``area_um2``,
   ``throughput_gops`` (and the regressed objectives) of unseen valid points of
   up to ``max_hardware`` hardware configurations; the batch is chosen by
   predicted hypervolume gain over the measured front.

Hardware is enumerated rather than relaxed: the spaces are discrete and small,
and the mapping, where the model's gradients pay off, is searched by gradient.

With QoR constraints, each constrained metric is predicted too (by the model when
it is one of its quantities, else by a ridge regression on the measured points),
with a spread from its residuals on those points; the front holds only feasible
measured points, and each candidate's predicted hypervolume gain is weighted by
its predicted probability of feasibility."""

from __future__ import annotations

import json
import time

import numpy as np
import torch

from edalize_dse.qor import QorScaler
from edalize_dse.qor_constraints import anchor_rows, probability_feasible, slacks
from edalize_dse.strategies.diffusion.screening import select_batch
from edalize_dse.strategies.model_based import ModelBasedStrategy
from edalize_dse.workload.hardware import (
    DEFAULT_DRAM_BYTES_PER_CYCLE,
    DEFAULT_DRAM_PJ_PER_BYTE,
    block_cycles,
    dataflows_of,
)
from edalize_dse.workload.layers import load_workload
from edalize_dse.workload.mapping import gradient_search
from edalize_dse.workload.model import ArrayModel, blocks, cost

RIDGE = 1.0
# Quantities the analytical model predicts itself (with the learnt synthesis terms).
MODEL_METRICS = ("latency_ms", "energy_mj", "area_um2", "throughput_gops")


class DosaStrategy(ModelBasedStrategy):
    name = "dosa"
    OPTIONS = {
        "init_points": "points of the space-filling design run through the flow first (default 6)",
        "workload": "workload the model maps (shipped name or file; default tiny_cnn)",
        "max_hardware": "hardware configurations modelled per round (default 32)",
        "dram_pj_per_byte": "off-chip energy per byte in the model (default 100)",
        "dram_bytes_per_cycle": "off-chip bandwidth in the model (default 16)",
    }

    def __init__(
        self,
        space,
        seed: int = 0,
        init_points: int = 6,
        workload: str = "tiny_cnn",
        max_hardware: int = 32,
        dram_pj_per_byte: float = DEFAULT_DRAM_PJ_PER_BYTE,
        dram_bytes_per_cycle: float = DEFAULT_DRAM_BYTES_PER_CYCLE,
    ):
        super().__init__(space, seed, init_points)
        from edalize_dse.generators.embedded import EmbeddedGemmini

        self.generator = EmbeddedGemmini()
        self.workload = load_workload(workload)
        self.max_hardware = int(max_hardware)
        if self.max_hardware < 1:
            raise ValueError(f"max_hardware must be at least 1, got {max_hardware}")
        self.dram = (float(dram_pj_per_byte), float(dram_bytes_per_cycle))
        self.rng = np.random.default_rng(seed)
        self.hardware_names = [p.name for p in space.layer("hardware")]
        self._terms: dict[str, dict] = {}

    # ---- what the model alone says of a hardware configuration
    def hardware_terms(self, hw: dict) -> dict:
        key = json.dumps(hw, sort_keys=True)
        if key not in self._terms:
            self._terms[key] = self._model_terms(self.generator.resolve(hw))
        return self._terms[key]

    def _model_terms(self, config: dict) -> dict:
        from edalize_dse.generators import sram

        model = sram.platform_model()
        dim = config["meshRows"] * config["tileRows"]
        view = model.view(1, 1)
        read = view["clk_energy"]
        write = view["clk_energy"] + view["pin_energy"]
        # Energies of everything but the MACs and DRAM in place, to read the SRAM part off.
        unit = ArrayModel(
            dim=dim,
            dataflows=dataflows_of(config),
            block_cycles=block_cycles(config),
            sp_bytes=config["sp_capacity"] * 1024.0,
            acc_bytes=config["acc_capacity"] * 1024.0,
            in_bytes=config["inputType"] / 8.0,
            acc_elem_bytes=config["accType"] / 8.0,
            clock_mhz=1.0,
            e_mac_pj=0.0,
            e_sp_read_pj=read,
            e_sp_write_pj=write,
            e_acc_read_pj=read,
            e_acc_write_pj=write,
            leakage_mw=0.0,
            dram_bytes_per_cycle=self.dram[1],
            e_dram_pj_per_byte=0.0,
        )
        gemms = [layer.gemm() for layer in self.workload.layers]
        mappings = gradient_search(unit, gemms, objective="latency", steps=60, round_every=20, seed=self.seed)
        cycles = macs = sram_pj = dram_bytes = 0.0
        for layer, gemm, m in zip(self.workload.layers, gemms, mappings):
            with torch.no_grad():
                v = cost(
                    unit,
                    blocks(gemm, dim),
                    torch.tensor([float(t) for t in m.tiles], dtype=torch.float64),
                    m.order,
                    m.dataflow,
                )
            mb, kb, nb = blocks(gemm, dim)
            cycles += m.cycles * layer.count
            macs += mb * kb * nb * dim**3 * layer.count
            sram_pj += float(v["energy_pj"]) * layer.count
            dram_bytes += float(v["dram_bytes"]) * layer.count
        banks = (
            (
                config["sp_banks"],
                config["sp_capacity"] * 8192 // (config["sp_banks"] * dim * config["inputType"]),
                dim * config["inputType"],
            ),
            (
                config["acc_banks"],
                config["acc_capacity"] * 8192 // (config["acc_banks"] * dim * config["accType"]),
                dim * config["accType"],
            ),
        )
        macro_area = sum(b * model.area(words, bits) for b, words, bits in banks)
        return dict(
            cycles=cycles, macs=macs, sram_pj=sram_pj, dram_bytes=dram_bytes, macro_area=macro_area, pes=dim * dim
        )

    # ---- what synthesis says, learnt from the measured points
    def _fit(self, data) -> dict:
        x = self.encoder.encode_many([e.params for e in data])
        targets = {}
        for e in data:
            period = float(e.params.get("clock_period_ps", 1000))
            terms = self.hardware_terms({k: e.params[k] for k in self.hardware_names})
            q = e.qor
            values = {
                "stdcell_area": q.get("stdcell_area_um2", q.get("area_um2", 0.0)),
                "e_mac": (q.get("power_seq_mw", 0.0) + q.get("power_comb_mw", 0.0)) * period * 1e-3 / terms["pes"],
                "fmax": q.get("fmax_mhz", 0.0),
                "leakage": q.get("power_leakage_mw", 0.0),
                **{o.name: q[o.name] for o in self.space.objectives},
            }
            for name, value in values.items():
                targets.setdefault(name, []).append(value)
        linear = {}
        for c in self.space.qor_constraints:
            if c.metric not in MODEL_METRICS and c.metric not in targets:
                # Any sign (wns_ps is negative when timing fails): fitted linearly, not in log space.
                linear[c.metric] = np.array([float(e.qor.get(c.metric, 0.0)) for e in data])
        weights = {}
        for name, values in linear.items():
            a = x.T @ x + RIDGE * np.eye(x.shape[1])
            weights[name] = ("linear", values.mean(), np.linalg.solve(a, x.T @ (values - values.mean())))
        for name, values in targets.items():
            y = np.log(np.maximum(np.array(values, dtype=float), 1e-12))
            # Ridge around the mean: with few measured points an unfamiliar point is
            # predicted near the average, not wherever an interpolating fit swings.
            a = x.T @ x + RIDGE * np.eye(x.shape[1])
            weights[name] = (y.mean(), np.linalg.solve(a, x.T @ (y - y.mean())))
        return weights

    def _feasibility(self, weights: dict, data: list, candidates_metrics: list[dict]) -> np.ndarray:
        """Probability of feasibility of each candidate: its predicted slacks, with the
        spread of each constraint's prediction error on the measured points."""
        self._predict(weights, [e.params for e in data])
        error = slacks(self.predicted_metrics, self.space.qor_constraints) - slacks(
            [e.qor for e in data], self.space.qor_constraints
        )
        spread = np.sqrt((error**2).mean(axis=0)) + 1e-3
        mean = slacks(candidates_metrics, self.space.qor_constraints)
        return probability_feasible(mean, np.broadcast_to(spread, mean.shape))

    def _predict(self, weights: dict, points: list[dict]) -> np.ndarray:
        x = self.encoder.encode_many(points)
        learnt = {
            name: (w[1] + x @ w[2]) if w[0] == "linear" else np.exp(w[0] + x @ w[1]) for name, w in weights.items()
        }
        rows, metrics = [], []
        for i, p in enumerate(points):
            t = self.hardware_terms({k: p[k] for k in self.hardware_names})
            fmax = learnt["fmax"][i]
            latency_ms = t["cycles"] / (fmax * 1e3)
            energy_pj = (
                learnt["e_mac"][i] * t["macs"]
                + t["sram_pj"]
                + t["dram_bytes"] * self.dram[0]
                + learnt["leakage"][i] * latency_ms * 1e9
            )
            model = {
                "latency_ms": latency_ms,
                "energy_mj": energy_pj * 1e-9,
                "area_um2": learnt["stdcell_area"][i] + t["macro_area"],
                "throughput_gops": 2 * t["pes"] * fmax / 1e3,
            }
            rows.append([model.get(o.name, learnt[o.name][i]) for o in self.space.objectives])
            metrics.append(
                {
                    c.metric: model.get(c.metric, learnt[c.metric][i] if c.metric in learnt else np.nan)
                    for c in self.space.qor_constraints
                }
            )
        self.predicted_metrics = metrics
        return np.array(rows, dtype=float)

    def model_propose(self, n: int, data: list, seen: set[str], times: dict) -> list[dict]:
        start = time.perf_counter()
        weights = self._fit(data)
        times["fit_s"] = time.perf_counter() - start

        start = time.perf_counter()
        pool, _ = self.encoder.candidate_pool(self.rng)
        unseen = [p for p in pool if self.space.canonical(p) not in seen]
        if not unseen:
            return []
        by_hw: dict[str, list[dict]] = {}
        for p in unseen:
            by_hw.setdefault(json.dumps({k: p[k] for k in self.hardware_names}, sort_keys=True), []).append(p)
        keys = sorted(by_hw)
        # Model the hardware already in the cache first (free), then fresh configurations.
        cached = [k for k in keys if k in self._terms]
        fresh = [k for k in keys if k not in self._terms]
        self.rng.shuffle(fresh)
        chosen = (cached + fresh)[: max(self.max_hardware, len(cached))]
        candidates = [p for k in chosen for p in by_hw[k]]
        predicted = self._predict(weights, candidates)
        candidate_metrics = self.predicted_metrics
        feasibility = self._feasibility(weights, data, candidate_metrics) if self.space.qor_constraints else None
        times["model_s"] = time.perf_counter() - start

        start = time.perf_counter()
        scaler = QorScaler(self.space.objectives)
        measured = scaler.raw(data)
        scaler.fit(measured)
        # The front of the feasible measured points (before any, the closest to feasibility).
        front = scaler.transform(measured)[anchor_rows(slacks([e.qor for e in data], self.space.qor_constraints))]
        picks = select_batch(
            front, scaler.transform(predicted), np.zeros_like(predicted), n, kappa=0.0, feasibility=feasibility
        )
        times["screen_s"] = time.perf_counter() - start
        return [candidates[i] for i in picks]
