"""``faceval show RUN``: what a run file holds, for a person (protocol, provenance, summary,
failures with their reasons, the worst images)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from faceval.metrics.landmarks import run_landmark_errors, scored_groups
from faceval.runs.data import SplitCount
from faceval.views.samples import SampleRef, failure_reasons, rows_of, run_nme, split_membership, worst_indices

#: provenance keys shown first, in this order (the rest follow sorted)
PROVENANCE_ORDER = ("faceval_version", "git_describe", "command_line", "dataset_spec", "data_root", "model_path",
                    "model_sha256", "spec_source", "providers_requested", "providers_used", "started", "finished")


@dataclass(frozen=True)
class FailureCount:
    """How many samples failed for one reason."""

    reason: str
    count: int


@dataclass(frozen=True)
class RunOverview:
    """Everything ``faceval show`` prints, computed from the run file alone."""

    label: str
    dataset: str
    scheme: str
    n_samples: int
    protocol: dict[str, Any]
    provenance: dict[str, Any]
    summary: dict[str, dict[str, float]]
    failures: list[SampleRef]
    failure_counts: list[FailureCount]
    worst: list[SampleRef]
    worst_split: str | None
    landmark_groups: dict[str, dict[str, float]] = field(default_factory=dict)
    model_info: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, SplitCount] = field(default_factory=dict)

    @property
    def partial(self) -> list[SplitCount]:
        """The partial splits (missing samples, a shard, ``--limit``, within a partial split)."""
        return [c for c in self.counts.values() if not c.complete]

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` object (fractions, like every faceval JSON)."""
        def ref(s: SampleRef) -> dict[str, Any]:
            return {"sample_id": s.sample_id, "splits": list(s.splits), "nme": s.nme,
                    "failure_reason": s.failure_reason or None}

        return {
            "schema_version": 1,
            "label": self.label,
            "dataset": self.dataset,
            "scheme": self.scheme,
            "n_samples": self.n_samples,
            "protocol": self.protocol,
            "provenance": self.provenance,
            "model_info": self.model_info,
            "splits": {k: dict(v, **self.counts[k].to_json()) if k in self.counts else dict(v)
                       for k, v in self.summary.items()},
            "failures": {
                "count": len(self.failures),
                "by_reason": [{"reason": c.reason, "count": c.count} for c in self.failure_counts],
                "samples": [ref(s) for s in self.failures],
            },
            "worst": {"split": self.worst_split, "samples": [ref(s) for s in self.worst]},
            "landmark_groups": self.landmark_groups,
        }


def ordered_provenance(provenance: dict[str, Any]) -> list[tuple[str, Any]]:
    """Provenance items, the important ones first (:data:`PROVENANCE_ORDER`), then the rest sorted."""
    first = [(k, provenance[k]) for k in PROVENANCE_ORDER if k in provenance]
    rest = [(k, provenance[k]) for k in sorted(provenance) if k not in PROVENANCE_ORDER]
    return first + rest


def describe_run(run, worst: int = 10, split: str | None = None) -> RunOverview:  # type: ignore[no-untyped-def]
    """The overview of ``run``: failures (all samples) and the ``worst`` highest-NME images of
    ``split`` (all samples when None), worst first."""
    reasons = failure_reasons(run)
    members = split_membership(run)
    ids = np.asarray(run.sample_ids, dtype=object)
    nme = run_nme(run)

    def ref(i: int) -> SampleRef:
        return SampleRef(index=int(i), sample_id=str(ids[i]), splits=members[i], nme=float(nme[i]),
                         failure_reason=str(reasons[i]))

    rows_of(run, split)  # unknown split -> InputError before anything else
    failed = [ref(i) for i in range(len(ids)) if reasons[i]]
    counts: dict[str, int] = {}
    for s in failed:
        counts[s.failure_reason] = counts.get(s.failure_reason, 0) + 1
    failure_counts = [FailureCount(r, c) for r, c in sorted(counts.items(), key=lambda rc: (-rc[1], rc[0]))]
    return RunOverview(
        label=run.label,
        dataset=run.dataset,
        scheme=run.scheme,
        n_samples=len(ids),
        protocol=run.protocol.to_dict(),
        provenance=dict(run.provenance),
        summary={k: dict(v) for k, v in run.summary.items()},
        failures=failed,
        failure_counts=failure_counts,
        worst=[ref(int(i)) for i in worst_indices(run, worst, split)],
        worst_split=split,
        landmark_groups={} if run.pose_only else _landmark_groups(run),
        model_info=dict(run.model_info),
        counts={name: run.split_count(name) for name in run.splits},
    )


def _landmark_groups(run: Any) -> dict[str, dict[str, float]]:
    """Split -> group -> NME, for the groups holding a point the protocol scores (no jaw under inner49)."""
    scored = [name for name, indices in scored_groups(run.scheme, run.protocol.points).items() if indices]
    out = {}
    for split in run.splits:
        groups = run_landmark_errors(run, split).group_nme
        out[split] = {name: groups[name] for name in scored}
    return out
