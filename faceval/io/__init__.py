"""Readers (and a few writers) of the on-disk annotation formats.

Every reader returns 0-based pixel coordinates of the original image (pixel
centres at integers; ``.pts`` and COFW files are 1-based on disk and have 1
subtracted) and head poses as degrees in the order yaw, pitch, roll. Every
malformed input raises :class:`faceval.errors.InputError` naming the file and,
for text formats, the 1-based line.

Modules: :mod:`~faceval.io.pts` (300W ``.pts``), :mod:`~faceval.io.wflw` (WFLW
lists), :mod:`~faceval.io.cofw` (COFW v7.3 ``.mat``), :mod:`~faceval.io.aflw`
(AFLW2000-3D ``.mat``), :mod:`~faceval.io.spiga` (SPIGA-style JSON),
:mod:`~faceval.io.pose_csv` (pose sidecar CSV). Submodules are imported
explicitly so that ``import faceval.io`` stays cheap (scipy and h5py are
imported only by the readers that need them).
"""
