"""The gate policy: judges measure, this decides what passes.

A verdict comes from a judge as scores (a value 0–1, the judge's own threshold, a reason). Before
a take loop reads it, `GatePolicy.apply` sets each score's threshold and role from the policy
(governor/gates.toml, with a film's own gates.toml over it) for the stage, the kind of judge and
the profile, and decides: the verdict passes when no blocking score is below its threshold. A
"warn" score that fails is carried along for a person to read. The applied verdict says which
stage, profile and judge kind it was held to, and the policy's fingerprint is part of the
gate's cache key, so changing a threshold changes which takes pass.

It must never invent a score: a score the judge did not give is not added, and "cannot judge"
always blocks.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STAGES = ("panel", "keyframe", "continuity", "drift", "reference")
JUDGE_KINDS = ("local", "vision")
GATES_FILE = "gates.toml"
ALWAYS_BLOCKS = ("judgeable",)


class GatePolicyError(ValueError):
    """A gates.toml that cannot be read: the message names the file and the entry."""


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _check(data: dict, source: str) -> None:
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
    data: dict

    @classmethod
    def load(cls, project_root: Path | None = None) -> "GatePolicy":
        data = _read(Path(__file__).with_name(GATES_FILE), f"governor/{GATES_FILE}")
        if project_root is not None and (Path(project_root) / GATES_FILE).is_file():
            data = _merge(data, _read(Path(project_root) / GATES_FILE, GATES_FILE))
        return cls(data)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.data, sort_keys=True).encode()).hexdigest()[:16]

    def enabled(self, stage: str) -> bool:
        return bool((self.data.get("stages") or {}).get(stage, {}).get("enabled", True))

    def judge_for(self, stage: str) -> str | None:
        return (self.data.get("stages") or {}).get(stage, {}).get("judge") or None

    def rules(self, stage: str, kind: str, profile: str) -> dict[str, dict]:
        base = dict((self.data.get(stage) or {}).get(kind) or {})
        over = ((self.data.get("profiles") or {}).get(profile) or {}).get(stage, {}).get(kind) or {}
        return {name: {**base.get(name, {}), **over.get(name, {})} for name in {*base, *over}}

    def apply(self, verdict: dict, stage: str, kind: str, profile: str) -> dict:
        """The verdict held to this policy: thresholds, roles, passed, and what it was held to."""
        rules = self.rules(stage, kind, profile)
        scores = []
        for s in verdict.get("scores", []):
            rule = rules.get(s["name"], {})
            threshold = float(rule.get("threshold", s["threshold"]))
            role = "block" if s["name"] in ALWAYS_BLOCKS else rule.get("role", s.get("role", "block"))
            if not self.enabled(stage):
                role = "warn"  # a gate turned off still reports what it saw
            scores.append({**s, "threshold": threshold, "role": role, "passed": float(s["value"]) >= threshold})
        blocking = [s for s in scores if s["role"] == "block"]
        quality = sum(s["value"] - s["threshold"] for s in blocking) / len(blocking) if blocking else 0.0
        return {**verdict, "scores": scores, "passed": all(s["passed"] for s in blocking),
                "quality": round(quality, 4), "policy": {"stage": stage, "judge": kind, "profile": profile,
                                                         "fingerprint": self.fingerprint}}


def judge_kind(judge_provider: str) -> str:
    return "local" if judge_provider == "local" else "vision"


def failing(verdict: dict) -> list[str]:
    """The blocking scores below their thresholds, with the judge's reasons."""
    return [f"{s['name']} {s['value']:.2f} < {s['threshold']:.2f}: {s['reason']}" for s in verdict.get("scores", [])
            if not s["passed"] and s.get("role", "block") == "block"]


def warned(verdict: dict) -> list[str]:
    return [f"{s['name']} {s['value']:.2f} < {s['threshold']:.2f}: {s['reason']}" for s in verdict.get("scores", [])
            if not s["passed"] and s.get("role") == "warn"]


def _read(path: Path, source: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise GatePolicyError(f"{source}: {exc}") from None
    _check(data, source)
    return data
