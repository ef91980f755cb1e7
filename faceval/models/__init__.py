"""Models: spec (preprocessing/decoding contract), ONNX Runtime sessions, decoding, inspection
(params, FLOPs), reference architectures (ASMNet, MobileNetV2) and benchmarking.

Submodules are imported explicitly (``from faceval.models.spec import ModelSpec``); onnxruntime
and onnx are imported lazily inside the functions that need them.
"""

#: The bundled default model (PFLD-GhostOne, 98 WFLW points, 112x112; spec embedded in metadata).
DEFAULT_MODEL = "PFLD_GhostOne_112_1_opt_sim.onnx"


def default_model_path() -> str:
    """Path of the bundled default model file."""
    from importlib import resources

    return str(resources.files("faceval.data").joinpath("models", DEFAULT_MODEL))
