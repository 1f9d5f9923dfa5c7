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

A word a provider's moderation refused in this film is offered to the film's own rules: the
words a refused prompt had that none of the film's accepted prompts had (`refused_words`) are
shown by `slate escalations`, and the ones a person picks are kept in the film's
prompt_rules.toml (`warn_of`) as a "warn" rule, so the next prompt that carries one is warned by
`slate check` and before its paid call.

It must never invent words: everything in a prompt comes from a block, the action, or a line of
the rules file; the words offered come from a prompt a provider refused.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from slate.errors import SlateError

RULES_FILE = "prompt_rules.toml"
SECTIONS = ("characters", "environment", "camera", "props", "action")

#: The rule `slate escalations --warn-words` keeps in a film's own prompt_rules.toml, between
#: two marker lines (rewritten whole each time: the rest of the file is never touched).
REFUSED_RULE = "refused-in-this-film"
_BLOCK_START = "# >>> slate escalations --warn-words: words a provider's moderation refused in this film >>>"
_BLOCK_END = "# <<< slate escalations --warn-words <<<"
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]")
#: Words too common to say anything about a refusal.
COMMON = frozenset("""a an and are as at be but by for from has have he her his in into is it its of on onto or
out over she so that the their them then there they this to up upon was we were what when where which while who
with you your one two its each both very just not no than through toward towards across behind before after
under again off down only own same other""".split())


@dataclass(frozen=True)
class Blocks:
    """One moment of a shot, as locked blocks."""

    characters: tuple[str, ...]
    environment: str
    camera: str
    props: tuple[str, ...]
    action: str
    camera_fixed: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"characters": list(self.characters), "environment": self.environment, "camera": self.camera,
                "props": list(self.props), "action": self.action, "camera_fixed": self.camera_fixed}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Blocks":
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
    #: the lines that stand before the sections when the panel polishes a human composite
    #: (the rules' top-level `polish`, or the family's own): what the call is, instead of `before`
    polish: tuple[str, ...] = ()


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
class LintFinding:
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


class RulesError(SlateError, ValueError):
    """A prompt_rules.toml that cannot be read; the message names the file and the entry."""


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path.name}: {exc}") from None


def _parse(data: dict[str, Any], source: str) -> tuple[list[Family], list[Rule]]:
    families, rules = [], []
    for name, fam in (data.get("families") or {}).items():
        bad = [s for s in fam.get("panel", []) + fam.get("clip", []) if s not in SECTIONS]
        if bad:
            raise RulesError(f"{source}: families.{name}: unknown section(s) {bad} (known: {', '.join(SECTIONS)})")
        families.append(Family(name, tuple(fam.get("match", [])), tuple(fam.get("panel", Family.panel)),
                               tuple(fam.get("clip", Family.clip)), tuple(fam.get("before", [])),
                               tuple(fam.get("after", [])), fam.get("fixed_camera", ""),
                               tuple(fam.get("polish", data.get("polish", [])))))
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
    """The prompt of one moment for one family: its lines, then the sections in its order. Kind
    "polish": a panel made by polishing a human composite — the family's polish lines say so."""
    order = family.panel if kind in ("panel", "polish") else family.clip
    before = (family.polish or family.before) if kind == "polish" else family.before
    text = {
        "characters": " ".join(blocks.characters),
        "environment": blocks.environment,
        "camera": blocks.camera + (f" {family.fixed_camera}" if blocks.camera_fixed and family.fixed_camera else ""),
        "props": ("Props: " + ", ".join(blocks.props) + ".") if blocks.props else "",
        "action": blocks.action,
    }
    lines = [*before, *(text[s] for s in order if text[s]), *family.after]
    return "\n".join(line.strip() for line in lines if line.strip())


def lint(prompt: str, family: Family, kind: str, rules: Rules, *, with_references: bool,
         camera_fixed: bool = False) -> list[LintFinding]:
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
            found += _pattern_found(r, prompt)
        elif r.requires:
            if r.requires.lower() not in lowered:
                found.append(LintFinding(r.id, r.severity, f"{r.message} (missing: {r.requires!r})"))
        elif r.words and (with_references or not r.with_references):
            hits = sorted({w for w in r.words if re.search(rf"\b{re.escape(w)}\b", lowered)})
            if hits:
                found.append(LintFinding(r.id, r.severity, f"{r.message}: {', '.join(hits)}"))
    return found


def text_findings(text: str, rules: Rules) -> list[LintFinding]:
    """What the blocking rules every text slate sends anywhere is held to (a rule for every family
    and every kind, with a pattern: no URL, no key-shaped token) say of `text` — a spoken line, say,
    which no prompt family shapes. A key found is never echoed back."""
    return [f for r in rules.rules if r.severity == "block" and r.pattern and "*" in r.families and r.kind == "*"
            for f in _pattern_found(r, text)]


def _pattern_found(r: Rule, text: str) -> list[LintFinding]:
    """What a pattern rule finds in `text`, as one finding (none: nothing matched)."""
    m = re.search(r.pattern, text, re.IGNORECASE) if r.pattern else None
    if not m:
        return []
    hit = m.group(0) if r.id != "no-secrets" else "a URL or key"  # never echo a key back
    return [LintFinding(r.id, r.severity, f"{r.message} (found: {hit!r})")]


# -- words a provider refused ----------------------------------------------------------------------
def words_of(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in COMMON}


def refused_words(refused_prompt: str, accepted_prompts: list[str]) -> list[str]:
    """The words of a prompt a provider refused that none of the film's accepted prompts had:
    what was new in it (the locked blocks every shot shares are in the accepted prompts too)."""
    seen: set[str] = set()
    for prompt in accepted_prompts:
        seen |= words_of(prompt)
    return sorted(words_of(refused_prompt) - seen)


def _project_file(root: Path) -> Path:
    return Path(root) / RULES_FILE


def refused_rule_words(root: Path) -> list[str]:
    """The words the film's rules already warn of as refused in this film."""
    path = _project_file(root)
    if not path.is_file():
        return []
    for r in _read(path).get("rules") or []:
        if r.get("id") == REFUSED_RULE:
            return list(r.get("words") or [])
    return []


def warn_of(root: Path, words: list[str]) -> tuple[Path, list[str]]:
    """Keep `words` (with those already kept) in the film's prompt_rules.toml as a "warn" rule:
    every prompt that carries one is warned by `slate check` and before its paid call. Only the
    block between slate's marker lines is rewritten. Returns the file and the words it now holds."""
    wanted = sorted({w.strip().lower() for w in words if w.strip()} | set(refused_rule_words(root)))
    bad = [w for w in wanted if not re.fullmatch(r"[a-z0-9][a-z0-9' -]*", w)]
    if bad:
        raise RulesError(f"{RULES_FILE}: not words a rule can hold: {bad}")
    path = _project_file(root)
    text = path.read_text() if path.is_file() else ""
    if _BLOCK_START in text and _BLOCK_END in text:
        before, rest = text.split(_BLOCK_START, 1)
        after = rest.split(_BLOCK_END, 1)[1]
        text = before.rstrip("\n") + ("\n" if before.strip() else "") + after.lstrip("\n")
    listed = ", ".join(f'"{w}"' for w in wanted)
    block = (f"{_BLOCK_START}\n[[rules]]\nid = \"{REFUSED_RULE}\"\nseverity = \"warn\"\nfamilies = [\"*\"]\n"
             f"kind = \"*\"\nwords = [{listed}]\nmessage = \"a provider's moderation refused a prompt of this film "
             f"that had these words (slate escalations)\"\n{_BLOCK_END}\n")
    new = (text.rstrip("\n") + "\n\n" if text.strip() else "") + block
    path.write_text(new)
    try:
        load_rules(root)   # the file must still read: a broken rules file would stop every run
    except RulesError:
        path.write_text(text)
        raise
    return path, wanted


# -- a recipe step: one edit an instruction (issue 24) --------------------------------------------
# Verbs an edit instruction starts a change with: two of them joined in one instruction is two edits.
_VERBS = ("make", "keep", "remove", "add", "change", "replace", "move", "fill", "empty", "turn", "put", "recolour",
          "recolor", "colour", "color", "fix", "swap", "erase", "delete", "set", "give", "take", "paint", "shrink",
          "enlarge", "rotate", "crop", "brighten", "darken", "open", "close", "raise", "lower")
_CLAUSE = re.compile(r"(?:^|(?:[,;.]\s*)?\b(?:and|then|also|plus)\b|[,;.])\s*(?:please\s+)?([a-z]+)", re.I)


def several_changes(instruction: str) -> list[str]:
    """The change verbs that start clauses of one instruction (two or more: several changes)."""
    found = [m.group(1).lower() for m in _CLAUSE.finditer(instruction) if m.group(1).lower() in _VERBS]
    return found if len(found) > 1 else []


def recipe_step_warning(where: str, instruction: str) -> str | None:
    """The warning `slate check` and `slate bible --edit` print for a recipe step (at `where`)
    that asks for several changes at once, else None."""
    verbs = several_changes(instruction)
    if not verbs:
        return None
    return (f"{where}: {instruction!r} asks for {len(verbs)} changes at once ({', '.join(verbs)}): image-edit models "
            "do one edit at a time; make each its own step")
