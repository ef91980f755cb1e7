"""Pose convention check: does a model's angle convention match its labels'?

Pose conventions differ between models and label sources (evaluation spec §4 and §6): the sign
of an angle, its zero point, the order of the three angles, radians against degrees. The mean
signed error (``bias_<angle>``) and the correlation of each predicted angle with its label
(``corr_<angle>``, both from :mod:`faceval.metrics.registry`) show it at once. This module reads
them and says, in one :class:`PoseConventionWarning`, which angles look wrong and the spec
setting that would fix it. Nothing is ever fixed here: the user sets ``pose_signs``,
``pose_order`` or ``pose_units`` explicitly, and the run records it.

Rules, per angle ``a`` over the images with a finite prediction and label of ``a`` (at least
:data:`MIN_IMAGES`):

* sign: ``corr_a < SIGN_CORR`` (-0.5): the angle's sign is likely flipped;
* order: another label angle ``b`` correlates with the predicted ``a`` clearly better
  (``|corr(pred_a, gt_b)| >= ORDER_CORR`` and above ``|corr_a| + ORDER_MARGIN``): the angles are
  likely in another order (the fix lists ``pose_order`` as the model's outputs would be read);
* units: the spread of the labels over that of the predictions is about 180/pi (or its
  inverse), within a factor :data:`UNIT_TOLERANCE`: radians against degrees;
* offset: ``|bias_a| > BIAS_SPREAD x std(error_a)`` (1: the systematic part of the squared error,
  ``bias^2``, is larger than its random part, the error variance) and ``|bias_a| > BIAS_DEGREES``
  (5°): the zero points differ. No spec field shifts an angle: the warning says so.

The thresholds are judgement, stated here and in the README; the FSA-Net models on HELEN against
SPIGA's poses (a real case) give a yaw correlation of about -0.8 and a pitch bias of about -10°
against an error spread of about 7°.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from faceval.metrics.registry import POSE_ANGLES, metric_name, parse_metric
from faceval.metrics.view import MetricView
from faceval.runs.protocol import Protocol

SIGN_CORR = -0.5
ORDER_CORR = 0.5
ORDER_MARGIN = 0.2
BIAS_SPREAD = 1.0
BIAS_DEGREES = 5.0
UNIT_TOLERANCE = 1.5
MIN_IMAGES = 10


@dataclass(frozen=True)
class AngleFinding:
    """What looks wrong with one angle: ``kind`` is ``sign``, ``order``, ``units`` or ``offset``."""

    angle: str
    kind: str
    detail: str


@dataclass(frozen=True)
class PoseConventionWarning:
    """One warning for a run: the angles that look wrong and the likely fix (None: no spec field fixes it)."""

    findings: tuple[AngleFinding, ...]
    fix: str | None

    @property
    def angles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.angle for f in self.findings))

    def message(self) -> str:
        """The one line a CLI prints."""
        parts = "; ".join(f"{f.angle}: {f.detail}" for f in self.findings)
        text = f"pose convention of {', '.join(self.angles)} differs from the labels ({parts})"
        if self.fix:
            text += f"; likely fix: {self.fix} (set it explicitly; faceval never changes a convention silently)"
        offsets = [f.angle for f in self.findings if f.kind == "offset"]
        if offsets:
            text += (f"; the offset of {', '.join(offsets)} is no spec setting: model and labels measure "
                     f"{'it' if len(offsets) == 1 else 'them'} from different zero points (check the label source)")
        elif not self.fix:
            text += "; no spec field fixes this: check the convention of the pose labels"
        return text


def _value(view: MetricView, name: str) -> float:
    return float(parse_metric(name).value(view))


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return math.nan
    return float(parse_metric("corr_yaw").aggregate(np.stack([x[ok], y[ok]], axis=1)))


def check_pose_conventions(pose_pred: np.ndarray | None, pose_gt: np.ndarray | None, *,
                           protocol: Protocol | None = None) -> PoseConventionWarning | None:
    """The one convention warning for these predictions and labels (``(N, 3)`` yaw, pitch, roll), or None."""
    if pose_pred is None or pose_gt is None:
        return None
    p = np.asarray(pose_pred, dtype=np.float64).reshape(-1, 3)
    g = np.asarray(pose_gt, dtype=np.float64).reshape(-1, 3)
    view = MetricView(nme=None, failed_inputs=np.zeros(len(p), dtype=bool),
                      protocol=protocol or Protocol(thresholds=()), pose_pred=p, pose_gt=g)
    # (the view's protocol gives pose_wrap to the bias and correlation metrics)
    findings: list[AngleFinding] = []
    proto = protocol or Protocol(thresholds=())
    # the fix is given on top of the run's own decoding (a run already decoded with pose_signs
    # -1,1,1 that still looks flipped is told 1,1,1)
    current_signs = [int(v) for v in (proto.pose_signs or (1.0, 1.0, 1.0))]
    current_order = list(proto.pose_order or POSE_ANGLES)
    signs = list(current_signs)
    order = list(current_order)
    unit_fix = None
    for a, angle in enumerate(POSE_ANGLES):
        ok = np.isfinite(p[:, a]) & np.isfinite(g[:, a])
        if ok.sum() < MIN_IMAGES:
            continue
        corr = _value(view, metric_name(f"corr_{angle}"))
        bias = _value(view, metric_name(f"bias_{angle}"))
        cross = {other: _corr(p[:, a], g[:, b]) for b, other in enumerate(POSE_ANGLES) if b != a}
        best = max(cross, key=lambda k: abs(cross[k]) if math.isfinite(cross[k]) else -1.0)
        sd_p, sd_g = float(np.std(p[ok, a])), float(np.std(g[ok, a]))
        ratio = sd_g / sd_p if sd_p > 0 and sd_g > 0 else math.nan  # a constant side says nothing of units
        rad = math.degrees(1.0)
        if math.isfinite(cross[best]) and abs(cross[best]) >= ORDER_CORR and \
                abs(cross[best]) > (abs(corr) if math.isfinite(corr) else 0.0) + ORDER_MARGIN:
            findings.append(AngleFinding(angle, "order", f"the predicted {angle} follows the {best} labels "
                                         f"(correlation {cross[best]:+.2f}, with the {angle} labels {corr:+.2f})"))
            order[current_order.index(angle)] = best  # the output slot decoded as `angle` holds `best`
            continue
        if math.isfinite(corr) and corr < SIGN_CORR:
            findings.append(AngleFinding(angle, "sign", f"correlation with its labels {corr:+.2f}"))
            signs[a] = -current_signs[a]
            continue
        if math.isfinite(ratio) and (rad / UNIT_TOLERANCE < ratio < rad * UNIT_TOLERANCE or
                                     rad / UNIT_TOLERANCE < 1 / ratio < rad * UNIT_TOLERANCE):
            which = "the model outputs radians" if ratio > 1 else "the labels are in radians"
            findings.append(AngleFinding(angle, "units", f"labels spread {ratio:.3g}x the predictions ({which})"))
            unit_fix = "--set pose_units=radians" if ratio > 1 else None
            continue
        err = p[ok, a] - g[ok, a]
        spread = float(np.std(err))
        if abs(bias) > BIAS_SPREAD * spread and abs(bias) > BIAS_DEGREES:
            findings.append(AngleFinding(angle, "offset", f"bias {bias:+.2f}° against an error spread of {spread:.2f}°"))
    if not findings:
        return None
    fixes = []
    if order != current_order and sorted(order) == sorted(POSE_ANGLES):
        # the model's output slots hold, in yaw, pitch, roll position, the angles `order` names
        fixes.append("--set pose_order=" + ",".join(order))
    if signs != current_signs:
        fixes.append("--set pose_signs=" + ",".join(str(s) for s in signs))
    if unit_fix:
        fixes.append(unit_fix)
    return PoseConventionWarning(tuple(findings), " ".join(fixes) or None)
