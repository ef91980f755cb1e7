"""faceval: evaluation toolkit for facial landmark and head-pose models.

The package import is kept free of heavy modules so that the CLI starts fast;
import submodules (``faceval.metrics``, ``faceval.datasets`` ...) explicitly.
"""

__version__ = "0.1.0"
