"""A conditional denoising diffusion model over encoded design points.

The denoiser is a small residual MLP predicting the noise added to a point
x0 (in [-1, 1]^d, see ``encoding``) at step t, given a sinusoidal embedding of
t and a QoR condition (normalised objectives, see ``qor``). The condition is
dropped (zeroed, with a flag input saying so) for a share of the training
examples, so one network gives both the conditional and the unconditional
noise and sampling can use classifier-free guidance. Sampling is deterministic
DDIM (eta = 0) over a subsequence of the training steps, optionally steered by
the gradient of a differentiable QoR predictor toward a target QoR."""

from __future__ import annotations

import math

import torch
from torch import nn

STEPS = 200  # diffusion steps of the training schedule


def cosine_alpha_bar(steps: int = STEPS) -> torch.Tensor:
    """Cumulative signal fraction per step (the cosine schedule), clipped away from 0."""
    s = 0.008
    t = torch.linspace(0, steps, steps + 1, dtype=torch.float32) / steps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f[1:] / f[0]
    return alpha_bar.clamp(1e-4, 0.9999)


def timestep_embedding(t: torch.Tensor, width: int) -> torch.Tensor:
    """Sin/cos features of t (integer steps) at geometric frequencies."""
    half = width // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class Denoiser(nn.Module):
    def __init__(self, dim: int, cond_dim: int, hidden: int = 128, blocks: int = 2, time_width: int = 16):
        super().__init__()
        self.time_width = time_width
        self.inp = nn.Linear(dim + time_width + cond_dim + 1, hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
            for _ in range(blocks)
        )
        self.out = nn.Sequential(nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, x, t, cond, has_cond):
        """Predicted noise; ``has_cond`` (B, 1) is 1 where the condition is given, 0 where dropped."""
        h = self.inp(torch.cat([x, timestep_embedding(t, self.time_width), cond * has_cond, has_cond], dim=1))
        for block in self.blocks:
            h = h + block(h)
        return self.out(h)


def train(
    model: Denoiser,
    x0: torch.Tensor,
    cond: torch.Tensor,
    steps: int,
    generator: torch.Generator,
    optimizer: torch.optim.Optimizer,
    batch: int = 128,
    drop_cond: float = 0.15,
    weights: torch.Tensor | None = None,
) -> float:
    """``steps`` Adam steps of the noise-prediction loss; returns the last loss.
    ``weights`` (one per row, e.g. a prior's rows lower): each batch draws rows with
    these relative probabilities, which weights their terms of the loss alike."""
    alpha_bar = cosine_alpha_bar()
    model.train()
    loss = torch.tensor(0.0)
    for _ in range(steps):
        if weights is None:
            idx = torch.randint(0, x0.shape[0], (batch,), generator=generator)
        else:
            idx = torch.multinomial(weights, batch, replacement=True, generator=generator)
        t = torch.randint(0, STEPS, (batch,), generator=generator)
        noise = torch.randn(batch, x0.shape[1], generator=generator)
        ab = alpha_bar[t][:, None]
        xt = ab.sqrt() * x0[idx] + (1 - ab).sqrt() * noise
        has_cond = (torch.rand(batch, 1, generator=generator) >= drop_cond).float()
        loss = ((model(xt, t, cond[idx], has_cond) - noise) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    return loss.item()


def ddim_sample(
    model: Denoiser,
    cond: torch.Tensor,
    dim: int,
    generator: torch.Generator,
    steps: int = 20,
    cfg_weight: float = 1.0,
    guide=None,
    guide_scale: float = 0.0,
) -> torch.Tensor:
    """One x0 per condition row. ``cfg_weight`` w mixes (1 + w) conditional minus w
    unconditional noise. ``guide(x0)`` -> per-row loss (e.g. predicted QoR's squared
    distance to the target); with ``guide_scale`` > 0 its gradient through the
    current x0 estimate is added to the noise, which moves the sample downhill."""
    alpha_bar = cosine_alpha_bar()
    ts = torch.linspace(STEPS - 1, 0, steps).round().long()
    batch = cond.shape[0]
    x = torch.randn(batch, dim, generator=generator)
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    x0 = x
    for i, t in enumerate(ts):
        tt = t.repeat(batch)
        ab = alpha_bar[t]
        ab_prev = alpha_bar[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0)
        with torch.no_grad():
            eps = (1 + cfg_weight) * model(x, tt, cond, ones) - cfg_weight * model(x, tt, cond, zeros)
        if guide is not None and guide_scale > 0:
            with torch.enable_grad():
                xg = x.detach().requires_grad_(True)
                estimate = (xg - (1 - ab).sqrt() * eps) / ab.sqrt()
                (grad,) = torch.autograd.grad(guide(estimate.clamp(-1, 1)).sum(), xg)
            eps = eps + guide_scale * (1 - ab).sqrt() * grad
        x0 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
        eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
        x = ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps
    return x0.detach()
