"""The DiffuSE controller, strategy ``diffusion`` (``strategy.py``), and its parts: the
conditional denoiser and its DDIM sampler (``denoiser.py``), the QoR predictor ensemble
(``predictor.py``), the Pareto-aware choice of conditioning targets (``targets.py``) and
the hypervolume-gain screen (``screening.py``, which ``dosa`` shares). Importing this
package loads none of them (torch is imported by the module that needs it)."""
