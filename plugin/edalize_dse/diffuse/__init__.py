"""The parts of the DiffuSE controller (``strategies/diffusion.py``): the
conditional denoiser and its DDIM sampler, the QoR predictor ensemble, the
Pareto-aware choice of conditioning targets and the hypervolume-gain screen."""
