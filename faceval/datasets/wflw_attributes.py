"""WFLW's test set from the official 197-token lists, for a copy without the full 207-token test list.

The ``list_98pt_test/`` folder of the WFLW annotations holds the full testing list
``list_98pt_test.txt`` (2500 faces) and the six attribute lists, all in the 197-token format
(coordinates + image name: no rectangle, no flags). The attribute lists are exactly the test faces
whose flag is 1, so the six flags of every face follow from list membership.

* With ``list_98pt_test.txt``: the test faces are its lines (in order; ids ``<image>#<k>`` as the
  full list gives them, since it holds the same faces in the same order); each attribute subset
  is the faces matched (same image, same coordinates to 1e-3 px) by its list.
* Without it: the test faces are the union of the six attribute lists (1966 distinct faces of the
  2500: a face with no attribute is in none of them). Which ``#k`` such a face has in the full list
  cannot be known (a face of the same image that is in no list is missing), so these ids are
  ``<image>#a<k>`` (k = the face's index among its image's faces in the order the lists first name
  them): a prediction keyed by full-list ids is refused as unknown, never scored against another face.

No rectangle is known (``boxes`` are NaN), so ``--box dataset`` cannot be used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from faceval.datasets.common import is_regular_file
from faceval.io.wflw import ATTRIBUTE_LIST_NAMES, ATTRIBUTE_NAMES, WflwList, read_wflw_attribute_list


@dataclass
class AttributeTestSet:
    """Test faces built from the 197-token lists.

    Attributes:
        faces: the faces (``boxes`` NaN; ``flags`` from list membership, 0/1).
        ids: sample id per face.
        source: what they were built from (for the warning).
        unmatched: attribute list file name -> faces of that list not among the test faces.
    """

    faces: WflwList
    ids: list[str]
    source: str
    unmatched: dict[str, int]


def _key(image: str, landmarks: np.ndarray) -> tuple[str, bytes]:
    return image, np.round(landmarks, 3).tobytes()


def attribute_paths(base: Path, manifest: dict[str, Any]) -> dict[str, Path]:
    """flag -> path of its attribute list, for the lists present as regular files."""
    out = {}
    for flag in ATTRIBUTE_NAMES:
        path = base / manifest["attribute_lists"][ATTRIBUTE_LIST_NAMES[flag]]
        if is_regular_file(path):
            out[flag] = path
    return out


def build_test_set(base: Path, manifest: dict[str, Any]) -> AttributeTestSet | None:
    """The test set from ``list_98pt_test.txt`` and/or the attribute lists; None when neither is here."""
    full_197 = base / manifest["test_list_197"]
    lists = attribute_paths(base, manifest)
    has_full = bool(is_regular_file(full_197))
    if not has_full and not lists:
        return None
    parsed = {flag: read_wflw_attribute_list(path) for flag, path in lists.items()}
    if has_full:
        faces = read_wflw_attribute_list(full_197)
        images, landmarks = list(faces.image_paths), faces.landmarks
        ids = faces.face_ids()
        source = f"{full_197.name} and {len(lists)} attribute list(s)"
    else:
        seen: dict[tuple[str, bytes], int] = {}
        images, rows = [], []
        for flag in ATTRIBUTE_NAMES:
            if flag not in parsed:
                continue
            for image, lm in zip(parsed[flag].image_paths, parsed[flag].landmarks):
                key = _key(image, lm)
                if key not in seen:
                    seen[key] = len(images)
                    images.append(image)
                    rows.append(lm)
        landmarks = np.stack(rows)
        counter: dict[str, int] = {}
        ids = []
        for image in images:
            k = counter.get(image, 0)
            counter[image] = k + 1
            ids.append(f"{image}#a{k}")
        source = f"{len(lists)} attribute list(s) alone"
    position = {}
    for i, (image, lm) in enumerate(zip(images, landmarks)):
        position.setdefault(_key(image, lm), i)
    flags = np.zeros((len(images), len(ATTRIBUTE_NAMES)), dtype=np.int8)
    for col, flag in enumerate(ATTRIBUTE_NAMES):
        if flag not in parsed:
            flags[:, col] = -1  # unknown: that list is absent
    unmatched: dict[str, int] = {}
    for flag, listed in parsed.items():
        col = ATTRIBUTE_NAMES.index(flag)
        missing = 0
        for image, lm in zip(listed.image_paths, listed.landmarks):
            row = position.get(_key(image, lm))
            if row is None:
                missing += 1
            else:
                flags[row, col] = 1
        if missing:
            unmatched[lists[flag].name] = missing
    n = len(images)
    faces_out = WflwList(landmarks=np.asarray(landmarks, dtype=np.float64), boxes=np.full((n, 4), np.nan),
                         flags=flags, image_paths=images, line_numbers=np.arange(1, n + 1, dtype=np.int64))
    return AttributeTestSet(faces=faces_out, ids=ids, source=source, unmatched=unmatched)
