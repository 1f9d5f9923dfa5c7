"""The gate policy: judges measure, this decides what passes.

A verdict comes from a judge as scores (a value 0–1, the judge's own threshold, a reason). Before
a take loop reads it, `GatePolicy.apply` sets each score's threshold and role from the policy
(governor/gates.toml, with a film's own gates.toml over it) for the stage, the kind of judge and
the profile, and decides: the verdict passes when no blocking score is below its threshold. A
"warn" score that fails is carried along for a person to read. The applied verdict says which
stage, profile and judge kind it was held to, and the policy's fingerprint is part of the
gate's cache key, so changing a threshold changes which takes pass.

"Cannot judge" blocks — unless the person rehearses with `cannot_judge = "warn"` (art the judge
cannot read, the plumbing tried offline): then a "cannot judge" score, and for slate's own
(local) reading of a reference every score, is a warning, and the verdict is marked
`unjudged`, so every report shows the take as unjudged. The mode is part of the policy's
fingerprint: a rehearsal's verdicts are never a real run's.

It must never invent a score: a score the judge did not give is not added, and "cannot judge"
never passes silently.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from slate.errors import SlateError

STAGES = ("panel", "keyframe", "continuity", "drift", "reference")
JUDGE_KINDS = ("local", "vision")
GATES_FILE = "gates.toml"
ALWAYS_BLOCKS = ("judgeable",)
CANNOT_JUDGE = ("block", "warn")   # what "cannot judge" does: escalate, or (a rehearsal) go on unjudged


class GatePolicyError(SlateError, ValueError):
    """A gates.toml that cannot be read: the message names the file and the entry."""


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _check(data: Mapping[str, Any], source: str) -> None:
    for stage, judges in data.items():
        if stage in ("profiles", "stages"):
            continue
        if stage not in STAGES:
            raise GatePolicyError(f"{source}: unknown stage [{stage}] (known: {', '.join(STAGES)})")
        for kind, scores in judges.items():
            if kind not in JUDGE_KINDS:
                raise GatePolicyError(f"{source}: [{stage}.{kind}]: unknown judge kind (known: local, vision)")
            for name, rule in scores.items():
                if not isinstance(rule, dict):
                    raise GatePolicyError(f"{source}: {stage}.{kind}.{name} must be a table like {{ threshold = 0.7 }}")
                t = rule.get("threshold")
                if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t <= 1):
                    raise GatePolicyError(f"{source}: {stage}.{kind}.{name}.threshold must be a number from 0 to 1")
                if rule.get("role", "block") not in ("block", "warn"):
                    raise GatePolicyError(f"{source}: {stage}.{kind}.{name}.role must be 'block' or 'warn'")
    for profile, stages in (data.get("profiles") or {}).items():
        _check(stages, f"{source}: profiles.{profile}")


@dataclass(frozen=True)
class GatePolicy:
    data: dict[str, Any]   # gates.toml as read (the film's over slate's), and the cannot_judge mode

    @classmethod
    def load(cls, project_root: Path | None = None, cannot_judge: str = "block") -> "GatePolicy":
        data = _read(Path(__file__).with_name(GATES_FILE), f"governor/{GATES_FILE}")
        if project_root is not None and (Path(project_root) / GATES_FILE).is_file():
            data = _merge(data, _read(Path(project_root) / GATES_FILE, GATES_FILE))
        if cannot_judge not in CANNOT_JUDGE:
            raise GatePolicyError(f"cannot_judge must be one of {', '.join(CANNOT_JUDGE)} (got {cannot_judge!r})")
        if cannot_judge != "block":  # the shipped policy's fingerprint stays what it was
            data = {**data, "cannot_judge": cannot_judge}
        return cls(data)

    @property
    def rehearsal(self) -> bool:
        """Takes the judge cannot judge go on as unjudged (`cannot_judge = "warn"`)."""
        return self.data.get("cannot_judge") == "warn"

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.data, sort_keys=True).encode()).hexdigest()[:16]

    def enabled(self, stage: str) -> bool:
        return bool((self.data.get("stages") or {}).get(stage, {}).get("enabled", True))

    def judge_for(self, stage: str) -> str | None:
        return (self.data.get("stages") or {}).get(stage, {}).get("judge") or None

    def rules(self, stage: str, kind: str, profile: str) -> dict[str, dict[str, Any]]:
        base = dict((self.data.get(stage) or {}).get(kind) or {})
        over = ((self.data.get("profiles") or {}).get(profile) or {}).get(stage, {}).get(kind) or {}
        return {name: {**base.get(name, {}), **over.get(name, {})} for name in {*base, *over}}

    def apply(self, verdict: Mapping[str, Any], stage: str, kind: str, profile: str) -> dict[str, Any]:
        """The verdict held to this policy: thresholds, roles, passed, and what it was held to."""
        rules = self.rules(stage, kind, profile)
        # slate's own reading of a reference is a reading of the sheet's geometry: what it cannot
        # find there is what the local judge could not read either.
        reading_only = self.rehearsal and stage == "reference" and kind == "local"
        scores: list[dict[str, Any]] = []
        unjudged: list[str] = []
        for s in verdict.get("scores", []):
            rule = rules.get(s["name"], {})
            threshold = float(rule.get("threshold", s["threshold"]))
            role = "block" if s["name"] in ALWAYS_BLOCKS else rule.get("role", s.get("role", "block"))
            if not self.enabled(stage):
                role = "warn"  # a gate turned off still reports what it saw
            passed = float(s["value"]) >= threshold
            if not passed and role == "block" and (s["name"] in ALWAYS_BLOCKS or reading_only) and self.rehearsal:
                role = "warn"
                unjudged.append(s["reason"])
            scores.append({**s, "threshold": threshold, "role": role, "passed": passed})
        blocking = [s for s in scores if s["role"] == "block"]
        quality = sum(s["value"] - s["threshold"] for s in blocking) / len(blocking) if blocking else 0.0
        return {**verdict, "scores": scores, "passed": all(s["passed"] for s in blocking),
                "quality": round(quality, 4), "unjudged": unjudged,
                "policy": {"stage": stage, "judge": kind, "profile": profile, "fingerprint": self.fingerprint}}


def judge_kind(judge_provider: str) -> str:
    return "local" if judge_provider == "local" else "vision"


def against(value: float, threshold: float, sign: str | None = None) -> str:
    """A score beside its threshold with the digits it takes to see which is higher: "0.74 <
    0.74" said nothing; "0.7412 < 0.7450" says why it failed (two digits when they suffice,
    at most six)."""
    value, threshold = float(value), float(threshold)
    sign = sign or ("<" if value < threshold else ">=")
    digits = 2
    while digits < 6 and (f"{value:.{digits}f}" == f"{threshold:.{digits}f}") and value != threshold:
        digits += 1
    return f"{value:.{digits}f} {sign} {threshold:.{digits}f}"


class ScoredVerdict(Protocol):
    """A typed verdict (tasks/gates/verdicts.py GateVerdict), read here without importing tasks."""

    @property
    def scores(self) -> Sequence[BaseModel]: ...


def _scores(verdict: Mapping[str, Any] | ScoredVerdict) -> list[dict[str, Any]]:
    # A typed verdict (tasks/gates/verdicts.py) or a policy's dict: the same scores either way.
    scores = verdict.get("scores", []) if isinstance(verdict, Mapping) else verdict.scores
    return [s if isinstance(s, dict) else s.model_dump() for s in scores]


def failing(verdict: Mapping[str, Any] | ScoredVerdict) -> list[str]:
    """The blocking scores below their thresholds, with the judge's reasons."""
    return [f"{s['name']} {against(s['value'], s['threshold'])}: {s['reason']}" for s in _scores(verdict)
            if not s["passed"] and s.get("role", "block") == "block"]


def warned(verdict: Mapping[str, Any] | ScoredVerdict) -> list[str]:
    return [f"{s['name']} {against(s['value'], s['threshold'])}: {s['reason']}" for s in _scores(verdict)
            if not s["passed"] and s.get("role") == "warn"]


def _read(path: Path, source: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise GatePolicyError(f"{source}: {exc}") from None
    _check(data, source)
    return data
