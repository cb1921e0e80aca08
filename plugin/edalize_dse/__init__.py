"""edalize-dse: design-space exploration of accelerator and EDA-tool parameters,
shipped as the edalize flow ``dse``."""

__version__ = "0.2.0"
