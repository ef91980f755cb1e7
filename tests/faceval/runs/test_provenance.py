"""Provenance: versions without importlib.metadata, git describe started early."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

from faceval.runs import provenance


@pytest.mark.parametrize("dist", ["numpy", "h5py", "scipy", "onnxruntime"])
def test_versions_equal_importlib_metadata(dist):
    try:
        expected = metadata.version(dist)
    except metadata.PackageNotFoundError:
        pytest.skip(f"{dist} is not installed")
    assert provenance._version(dist) == expected


def test_unknown_distribution_has_no_version():
    assert provenance._version("no-such-distribution-faceval") is None


def test_collect_imports_neither_importlib_metadata_nor_scipy():
    code = ("import sys; from faceval.runs.provenance import collect; d = collect(); "
            "print(sorted(m for m in ('importlib.metadata', 'scipy', 'onnxruntime') if m in sys.modules), "
            "d['scipy'] is not None)")
    import importlib.util

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("]")
    assert out[0] + "]" == "[]"
    assert out[1].strip() == str(importlib.util.find_spec("scipy") is not None)


def test_git_describe_started_early_gives_the_same_answer():
    later = provenance.git_describe()
    provenance.start_git_describe()
    assert provenance.git_describe() == later
    assert provenance.git_describe() == later  # the background answer is used once, then run again
