"""Prompts each model family wants, assembled from the bible's locked blocks — and their lint.

A shot's prompt is never free text: it is the locked blocks (each character's description and
wardrobe, the location, the camera) plus the shot's own physical action, put in the order a
model family reads best, with the lines that family needs (Seedance: one continuous shot; avoid
jitter, bent limbs and identity drift; "fixed camera" when it is). The families, their order and
the lint rules are data (providers/prompt_rules.toml, and a film's own prompt_rules.toml).

`lint()` reads a finished prompt as a provider will: metaphors where a model needs physical
description, mandatory phrases missing, words that trip moderation together with reference
images, and anything that must never leave (a URL, a key). A "warn" is printed by `slate check`
and logged before the paid call; a "block" refuses the call.

It must never invent words: everything in a prompt comes from a block, the action, or a line of
the rules file.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

RULES_FILE = "prompt_rules.toml"
SECTIONS = ("characters", "environment", "camera", "props", "action")


@dataclass(frozen=True)
class Blocks:
    """One moment of a shot, as locked blocks."""

    characters: tuple[str, ...]
    environment: str
    camera: str
    props: tuple[str, ...]
    action: str
    camera_fixed: bool = False

    def as_dict(self) -> dict:
        return {"characters": list(self.characters), "environment": self.environment, "camera": self.camera,
                "props": list(self.props), "action": self.action, "camera_fixed": self.camera_fixed}

    @classmethod
    def from_dict(cls, d: dict) -> "Blocks":
        return cls(tuple(d["characters"]), d["environment"], d["camera"], tuple(d["props"]), d["action"],
                   bool(d.get("camera_fixed")))


@dataclass(frozen=True)
class Family:
    name: str
    match: tuple[str, ...]
    panel: tuple[str, ...] = ("characters", "environment", "camera", "props", "action")
    clip: tuple[str, ...] = ("characters", "action", "camera", "environment")
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    fixed_camera: str = ""


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    families: tuple[str, ...]
    kind: str
    message: str
    pattern: str | None = None
    requires: str | None = None
    words: tuple[str, ...] = ()
    with_references: bool = False
    fixed_camera: bool = False


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str      # warn | block
    message: str

    @property
    def blocking(self) -> bool:
        return self.severity == "block"

    def __str__(self) -> str:
        return f"{self.severity}: {self.message} [{self.rule}]"


@dataclass(frozen=True)
class Rules:
    families: tuple[Family, ...]
    rules: tuple[Rule, ...] = field(default=())

    def family_of(self, model_key: str) -> Family:
        """The family of `provider:model` (the first whose `match` is in it), else generic."""
        for fam in self.families:
            if any(m in model_key for m in fam.match):
                return fam
        return next(f for f in self.families if f.name == "generic")

    def family(self, name: str) -> Family:
        return next(f for f in self.families if f.name == name)


class RulesError(ValueError):
    """A prompt_rules.toml that cannot be read; the message names the file and the entry."""


def _read(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path.name}: {exc}") from None


def _parse(data: dict, source: str) -> tuple[list[Family], list[Rule]]:
    families, rules = [], []
    for name, fam in (data.get("families") or {}).items():
        bad = [s for s in fam.get("panel", []) + fam.get("clip", []) if s not in SECTIONS]
        if bad:
            raise RulesError(f"{source}: families.{name}: unknown section(s) {bad} (known: {', '.join(SECTIONS)})")
        families.append(Family(name, tuple(fam.get("match", [])), tuple(fam.get("panel", Family.panel)),
                               tuple(fam.get("clip", Family.clip)), tuple(fam.get("before", [])),
                               tuple(fam.get("after", [])), fam.get("fixed_camera", "")))
    for i, r in enumerate(data.get("rules") or []):
        where = f"{source}: rules[{i}] ({r.get('id', '?')})"
        if r.get("severity") not in ("warn", "block"):
            raise RulesError(f"{where}: severity must be 'warn' or 'block'")
        if sum(bool(r.get(k)) for k in ("pattern", "requires", "words")) != 1:
            raise RulesError(f"{where}: give exactly one of pattern, requires, words")
        if r.get("pattern"):
            try:
                re.compile(r["pattern"])
            except re.error as exc:
                raise RulesError(f"{where}: pattern: {exc}") from None
        rules.append(Rule(r["id"], r["severity"], tuple(r.get("families", ["*"])), r.get("kind", "*"),
                          r.get("message", r["id"]), r.get("pattern"), r.get("requires"), tuple(r.get("words", [])),
                          bool(r.get("with_references")), bool(r.get("fixed_camera"))))
    return families, rules


@lru_cache(maxsize=32)
def _load(project_file: str | None, stamp: float) -> Rules:
    fams, rules = _parse(_read(Path(__file__).with_name(RULES_FILE)), f"providers/{RULES_FILE}")
    if project_file:
        extra_fams, extra_rules = _parse(_read(Path(project_file)), RULES_FILE)
        names = {f.name for f in extra_fams}
        ids = {r.id for r in extra_rules}
        fams = extra_fams + [f for f in fams if f.name not in names]
        rules = [r for r in rules if r.id not in ids] + extra_rules
    if not any(f.name == "generic" for f in fams):
        raise RulesError("prompt rules: a 'generic' family is needed for models no family matches")
    return Rules(tuple(fams), tuple(rules))


def load_rules(project_root: Path | None = None) -> Rules:
    """The packaged rules, with the film project's own prompt_rules.toml on top when it has one."""
    path = Path(project_root) / RULES_FILE if project_root is not None else None
    if path is not None and path.is_file():
        return _load(str(path), path.stat().st_mtime)
    return _load(None, 0.0)


def assemble(blocks: Blocks, family: Family, kind: str) -> str:
    """The prompt of one moment for one family: its lines, then the sections in its order."""
    order = family.panel if kind == "panel" else family.clip
    text = {
        "characters": " ".join(blocks.characters),
        "environment": blocks.environment,
        "camera": blocks.camera + (f" {family.fixed_camera}" if blocks.camera_fixed and family.fixed_camera else ""),
        "props": ("Props: " + ", ".join(blocks.props) + ".") if blocks.props else "",
        "action": blocks.action,
    }
    lines = [*family.before, *(text[s] for s in order if text[s]), *family.after]
    return "\n".join(line.strip() for line in lines if line.strip())


def lint(prompt: str, family: Family, kind: str, rules: Rules, *, with_references: bool,
         camera_fixed: bool = False) -> list[Finding]:
    """What the rules say of a finished prompt, for this family and kind of call."""
    found = []
    lowered = prompt.lower()
    for r in rules.rules:
        if "*" not in r.families and family.name not in r.families:
            continue
        if r.kind not in ("*", kind):
            continue
        if r.fixed_camera and not camera_fixed:
            continue
        if r.pattern:
            m = re.search(r.pattern, prompt, re.IGNORECASE)
            if m:
                hit = m.group(0) if r.id != "no-secrets" else "a URL or key"  # never echo a key back
                found.append(Finding(r.id, r.severity, f"{r.message} (found: {hit!r})"))
        elif r.requires:
            if r.requires.lower() not in lowered:
                found.append(Finding(r.id, r.severity, f"{r.message} (missing: {r.requires!r})"))
        elif r.words and (with_references or not r.with_references):
            hits = sorted({w for w in r.words if re.search(rf"\b{re.escape(w)}\b", lowered)})
            if hits:
                found.append(Finding(r.id, r.severity, f"{r.message}: {', '.join(hits)}"))
    return found
