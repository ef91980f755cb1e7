"""Image files to model inputs: crop transform and inverse, decoding, threaded batches, cache.

Coordinate convention: points live in the original image's 0-based point frame (pixel
centres at integers); the model input is the continuous frame ``[0, W] x [0, H]`` (input
pixel ``j`` centred at ``j + 0.5``); a crop ``(x0, y0, x1, y1)`` maps by
``u = (x - x0) * W / (x1 - x0)``, and resampling agrees exactly (see ``transform``).

Submodules import lazily-heavy dependencies (Pillow, h5py) only when used.
"""

from faceval.pipeline.cache import CropCache, crop_key_fields, default_cache_dir
from faceval.pipeline.identity import FileIdentity, SampleIdentities, file_identity, sample_identities
from faceval.pipeline.images import (
    DecodedImage,
    ImageReadError,
    ImageTooLargeError,
    as_rgb_array,
    read_image,
)
from faceval.pipeline.loader import Batch, CropJob, iter_batches, load_crop, to_model_input
from faceval.pipeline.transform import (
    CROP_CODE_VERSION,
    CropBox,
    affine_params,
    crop_and_resize,
    face_crop,
    face_crops,
    to_image,
    to_input,
)

__all__ = [
    "CROP_CODE_VERSION",
    "Batch",
    "CropBox",
    "CropCache",
    "CropJob",
    "DecodedImage",
    "FileIdentity",
    "ImageReadError",
    "ImageTooLargeError",
    "affine_params",
    "as_rgb_array",
    "crop_and_resize",
    "crop_key_fields",
    "default_cache_dir",
    "face_crop",
    "face_crops",
    "file_identity",
    "iter_batches",
    "load_crop",
    "read_image",
    "SampleIdentities",
    "sample_identities",
    "to_image",
    "to_input",
    "to_model_input",
]
