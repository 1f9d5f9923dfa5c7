"""What a scene is expected to cost before any of it is generated.

What it is for: pricing a scene's shot plans with a run's ``Pricing`` (panels, judge gates,
clips), with expected-retake multipliers, so a film-maker sees the bill per shot and the
governor can refuse a run whose estimate does not fit its cap; and pricing a line of dialogue
before it is spoken (``line_usage``, ``price_line``): its characters are known, its seconds are
estimated from its words at its voice's pace (manifests/dialogue.py).

What it must never do: hold a price (every amount comes from the rate card), use ``float``
for money, or call a provider. Plans are duck-typed (``PlannedShot``: ``shot, duration,
resolution, end, height``) so this module does not import ``tasks``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from slate.governor.chokepoint import Usage
from slate.governor.money import fmt_usd, usd
from slate.governor.ratecard import Pricing, RateCard
from slate.manifests.dialogue import DEFAULT_WPM, estimated_seconds

if TYPE_CHECKING:
    from slate.governor.ledger import CallRow

__all__ = ["ShotEstimate", "SceneEstimate", "FilmEstimate", "estimate_scene", "estimate_film", "lineup_pricing",
           "JUDGE_TOKENS", "line_usage", "price_line"]

# What each judge call sends, as the gates assemble it (tasks/gates/gate.py, keyframes.py, continuity.py,
# reference_gate.py): images at ~1290 tokens each (PROVIDERS.md: about 1K), a ~400-token rubric
# (300 for a sheet), a ~300-token structured verdict. The gates price their calls with these.
IMAGE_TOKENS = 1290
RUBRIC_TOKENS = 400
VERDICT_TOKENS = 300
#: the keyframe gate: three keyframes, the start panel and the plate
JUDGE_TOKENS = (5 * IMAGE_TOKENS + RUBRIC_TOKENS, VERDICT_TOKENS)
#: a cut: the two frames either side of it, and each side's plate
CUT_TOKENS = (4 * IMAGE_TOKENS + RUBRIC_TOKENS, VERDICT_TOKENS)
#: a turnaround sheet or a plate, judged once for the film
REFERENCE_TOKENS = (IMAGE_TOKENS + 300, VERDICT_TOKENS)


class PlannedShot(Protocol):
    """What pricing reads of a shot's plan (tasks/shot/plan.py ShotPlan). A plan may also say its
    ``frame_mode``, ``start`` panel, ``audio`` and ``transition_seconds``; one that does not is
    priced as a start-frame shot without sound or dissolve."""

    @property
    def shot(self) -> str: ...
    @property
    def duration(self) -> float: ...
    @property
    def resolution(self) -> str: ...
    @property
    def height(self) -> int: ...
    @property
    def end(self) -> Mapping[str, Any] | None: ...   # the end panel, in start+end mode


class ChosenLineup(Protocol):
    """The models a run uses (providers/registry.py Lineup), each read as ``provider:model``."""

    @property
    def panel(self) -> object: ...
    @property
    def videos(self) -> Sequence[object]: ...
    @property
    def judge(self) -> object: ...


def panel_gate_tokens(characters: int) -> tuple[int, int]:
    """The panel gate's call: the panel, the plate and each character's turnaround."""
    return ((2 + characters) * IMAGE_TOKENS + RUBRIC_TOKENS, VERDICT_TOKENS)


@dataclass(frozen=True)
class ShotEstimate:
    """One shot, one take of everything, then the expected total with retakes."""

    shot: str
    seconds: Decimal         # the shot's length
    billed_seconds: Decimal  # what the video model bills for it (rounded up to what it can make)
    resolution: str
    panels: int              # 1, or 2 for start+end, 0 for a reference shot
    panel_cost: Decimal      # panels × one image
    judge_cost: Decimal      # panels × panel gate + one keyframe gate (+ the cut into it)
    video_cost: Decimal      # one clip
    expected: Decimal        # panel takes × (panels + their gates) + video takes × (clip + its gate) + its cut
    high: Decimal = Decimal(0)   # the same with the takes of `takes` (the top of the range)
    takes: tuple[int, int] = (1, 1)  # panel takes, video takes the top of the range counts for it
    delivered: Decimal = Decimal(0)  # seconds of picture it leaves in the stitched scene
    speech_cost: Decimal = Decimal(0)   # its lines of dialogue, each spoken once (voicing.line_costs)
    passes_cost: Decimal = Decimal(0)   # the passes over its clip, each once: its face swaps, its approved take's upscale, a declared pass (tasks/shot/clip_passes.py)

    @property
    def one_take(self) -> Decimal:
        return self.panel_cost + self.judge_cost + self.video_cost + self.speech_cost + self.passes_cost


@dataclass(frozen=True)
class SceneEstimate:
    lines: tuple[ShotEstimate, ...]
    pricing: Pricing
    expected_panel_takes: Decimal
    expected_video_takes: Decimal
    reference_cost: Decimal = Decimal(0)   # the reference gate's calls, once per sheet and plate
    takes_from: str = "the take policy"    # what the top of the range counts takes by
    music_cost: Decimal = Decimal(0)       # its cues made to a brief, each once (tasks/run/run_plan.py music_costs)
    music_takes: int = 1                   # the takes of each cue the top of the range counts

    @property
    def low(self) -> Decimal:
        """The bottom of the range: every shot once, its references judged once, each cue made once."""
        return usd(self.one_take + self.reference_cost + self.music_cost)

    @property
    def high(self) -> Decimal:
        """The top of the range: every shot with the takes `takes_from` says it needs, each cue
        made `music_takes` times."""
        return usd(sum((l.high for l in self.lines), Decimal("0")) + self.reference_cost
                   + self.music_takes * self.music_cost)

    @property
    def delivered(self) -> Decimal:
        """Seconds of picture the stitched scene delivers (dissolves overlap)."""
        return sum((l.delivered for l in self.lines), Decimal("0"))

    def per_second(self, amount: Decimal) -> Decimal:
        return usd(amount / self.delivered) if self.delivered else Decimal(0)

    @property
    def panel_cost(self) -> Decimal:
        return sum((l.panel_cost for l in self.lines), Decimal("0"))

    @property
    def judge_cost(self) -> Decimal:
        return sum((l.judge_cost for l in self.lines), Decimal("0"))

    @property
    def video_cost(self) -> Decimal:
        return sum((l.video_cost for l in self.lines), Decimal("0"))

    @property
    def speech_cost(self) -> Decimal:
        return sum((l.speech_cost for l in self.lines), Decimal("0"))

    @property
    def passes_cost(self) -> Decimal:
        return sum((l.passes_cost for l in self.lines), Decimal("0"))

    @property
    def seconds(self) -> Decimal:
        return sum((l.seconds for l in self.lines), Decimal("0"))

    @property
    def one_take(self) -> Decimal:
        """Every shot done once, no retakes: the floor of the bill."""
        return usd(self.panel_cost + self.judge_cost + self.video_cost + self.speech_cost + self.passes_cost)

    @property
    def total(self) -> Decimal:
        """Expected bill, retakes included: what is compared with a cap (a cue expected once: the
        music gate fails a made cue far less often than a keyframe gate a clip)."""
        return usd(sum((l.expected for l in self.lines), Decimal("0")) + self.music_cost)

    def fits(self, cap: Decimal | str | int) -> bool:
        # usd() refuses a float cap, like everything else that touches money.
        return self.total <= usd(cap)

    def render_table(self) -> list[tuple[str, ...]]:
        """Header, one row per shot, a total row; all cells are display strings. A "speech $"
        column only for a scene with lines of dialogue; a "passes $" one only where its clips are passed
        over (a face swap a shot asks for; an upscale of the approved takes at a final or hero profile)."""
        spoken = any(l.speech_cost for l in self.lines)
        passed = any(l.passes_cost for l in self.lines)

        def cells(*head: str, speech: str, passes: str, last: str) -> tuple[str, ...]:
            return (*head, *([speech] if spoken else []), *([passes] if passed else []), last)
        rows: list[tuple[str, ...]] = [cells("shot", "seconds", "billed s", "res", "panels", "panels $", "judge $",
                                             "video $", speech="speech $", passes="passes $", last="expected $")]
        for l in self.lines:
            rows.append(cells(l.shot, f"{l.seconds}", f"{l.billed_seconds}", l.resolution, str(l.panels),
                              fmt_usd(l.panel_cost), fmt_usd(l.judge_cost), fmt_usd(l.video_cost),
                              speech=fmt_usd(l.speech_cost), passes=fmt_usd(l.passes_cost), last=fmt_usd(l.expected)))
        rows.append(cells("TOTAL", f"{self.seconds}", f"{sum(l.billed_seconds for l in self.lines)}", "",
                          str(sum(l.panels for l in self.lines)), fmt_usd(self.panel_cost), fmt_usd(self.judge_cost),
                          fmt_usd(self.video_cost), speech=fmt_usd(self.speech_cost),
                          passes=fmt_usd(self.passes_cost), last=fmt_usd(self.total)))
        return rows


def _takes(name: str, x: Decimal | str | int) -> Decimal:
    if isinstance(x, (float, bool)):
        raise TypeError(f"{name} must be a Decimal, str or int (never float), got {x!r}")
    d = Decimal(x)
    if d < 1:
        raise ValueError(f"{name} must be >= 1 (every shot is done at least once), got {x!r}")
    return d


def _judge(pricing: Pricing, tokens: tuple[int, int]) -> Decimal:
    """One verdict; with a ladder, the second judge's at the share of verdicts it is expected to be
    asked for (every gate counted so: an estimate errs high)."""
    units = Usage("judge", input_tokens=tokens[0], output_tokens=tokens[1])
    first = pricing.estimate(units)
    if pricing.ladder is None:
        return first
    second, share = pricing.ladder
    return first + share * pricing.estimate(units, second)


def _seconds(x: float | int | Decimal | str) -> Decimal:
    return Decimal(repr(x)) if isinstance(x, float) else Decimal(x)


def _people(start: Mapping[str, Any]) -> set[str]:
    """The characters of a start panel (dicts, or CharacterRef-like objects), by id."""
    return {c["id"] if isinstance(c, dict) else c.id for c in start.get("characters", ())}


def _shares(a: PlannedShot, b: PlannedShot) -> bool:
    """Whether the cut from plan `a` to plan `b` is judged: the same place, or someone in both
    (tasks/gates/continuity.py shares_the_scene); a plan that does not say is counted as judged."""
    sa, sb = getattr(a, "start", None), getattr(b, "start", None)
    if not sa or not sb:
        return True
    return sa.get("location_id") == sb.get("location_id") or bool(_people(sa) & _people(sb))


def estimate_scene(plans: Sequence[PlannedShot], pricing: Pricing, *,
                   expected_panel_takes: Decimal = Decimal("1.3"),
                   expected_video_takes: Decimal = Decimal("1.1"),
                   takes: Mapping[str, tuple[int, int]] | None = None, max_takes: int = 1,
                   takes_from: str = "the take policy", references: int = 0,
                   vision_judge: bool = True, speech: Mapping[str, Decimal] | None = None,
                   passes: Mapping[str, Decimal] | None = None, music: Decimal = Decimal(0)) -> SceneEstimate:
    """Price each plan: panels (1, or 2 in start+end mode, none for a reference shot) each judged
    by the panel gate (its panel, plate and cast), then one clip judged by the keyframe gate, and
    the cut into it judged; retakes scale each part by its multiplier. The top of the range counts
    each shot's `takes` (panel takes, video takes: what it needed so far), or `max_takes` of each
    for a shot it does not name. `references`: turnaround sheets the reference gate asks the judge
    about. A judge that is not a vision model (the local judge) is asked about no cut and no sheet:
    with `vision_judge` False those calls are not counted. `speech`: by shot, its lines spoken once
    (tasks/shot/voicing.py line_costs): expected at the video's take multiplier (a line failing the
    voice gate is spoken again, as a clip failing its gate is made again), at the top of the range
    the shot's video takes. `passes`: by shot, the passes over its clip, each once (tasks/shot/clip_passes.py
    pass_costs: each declared pass where it takes the shot — its face swaps; its approved take's
    upscale at a final or hero run with an upscale model): expected once, at the top of the range `max_takes` times (a pass failing its gate is
    made again). `music`: the scene's cues made to a brief, each once: expected once, at the top of
    the range `max_takes` times."""
    panel_takes = _takes("expected_panel_takes", expected_panel_takes)
    video_takes = _takes("expected_video_takes", expected_video_takes)
    # Same for every call of the scene, so priced once.
    video_rate = pricing.card.rate(pricing.video_key, "video")
    keyframe_gate, cut = _judge(pricing, JUDGE_TOKENS), _judge(pricing, CUT_TOKENS)
    lines: list[ShotEstimate] = []
    for i, p in enumerate(plans):
        by_reference = getattr(p, "frame_mode", "start") == "reference"
        panels = 0 if by_reference else 2 if p.end else 1
        cast = len((getattr(p, "start", None) or {}).get("characters", ()))
        # Priced as tasks/shot/panel.py describes the call: one image at the panel's height.
        image = pricing.estimate(Usage("image", images=1, resolution=f"{p.height}p"))
        panel_gate = _judge(pricing, panel_gate_tokens(cast))
        clip = pricing.estimate(Usage("video", seconds=p.duration, resolution=p.resolution,
                                         audio=getattr(p, "audio", False)))
        # The first shot has no cut into it; a cut between shots that share nothing is not judged.
        into = cut if i and vision_judge and _shares(plans[i - 1], p) else Decimal(0)
        panel_cost = image * panels
        judge_cost = panel_gate * panels + keyframe_gate + into
        said = (speech or {}).get(p.shot, Decimal(0))
        larger = (passes or {}).get(p.shot, Decimal(0))
        expected = (panel_takes * panels * (image + panel_gate) + video_takes * (clip + keyframe_gate) + into
                    + video_takes * said + larger)
        pt, vt = (takes or {}).get(p.shot, (max_takes, max_takes))
        high = (pt * panels * (image + panel_gate) + vt * (clip + keyframe_gate) + into + vt * said
                + max(1, max_takes) * larger)
        seconds = _seconds(p.duration)
        overlap = _seconds(getattr(p, "transition_seconds", 0) or 0) if i < len(plans) - 1 else Decimal(0)
        lines.append(ShotEstimate(shot=p.shot, seconds=seconds,
                                  billed_seconds=video_rate.billed_seconds(p.duration), resolution=p.resolution, panels=panels,
                                  panel_cost=usd(panel_cost), judge_cost=usd(judge_cost),
                                  video_cost=usd(clip), expected=usd(expected), high=usd(high), takes=(pt, vt),
                                  delivered=seconds - overlap, speech_cost=usd(said), passes_cost=usd(larger)))
    return SceneEstimate(tuple(lines), pricing, panel_takes, video_takes,
                         reference_cost=usd(references * _judge(pricing, REFERENCE_TOKENS)) if vision_judge
                         else Decimal(0), takes_from=takes_from, music_cost=usd(music), music_takes=max(1, max_takes))


def line_usage(text: str, pace_wpm: int = DEFAULT_WPM) -> Usage:
    """What a line of dialogue is priced by before it is spoken: the characters of its text (what
    is sent), and the seconds its words take at the voice's pace (what comes back). After the call
    the provider's own count and the measured seconds settle it."""
    return Usage("speech", characters=len(text), seconds=estimated_seconds(text, pace_wpm))


def price_line(card: RateCard | Pricing, model_key: str, text: str, pace_wpm: int = DEFAULT_WPM) -> Decimal:
    """The price of speaking `text` with speech model `model_key` ("provider:model") at `pace_wpm`,
    from the rate card (a run's Pricing: as `price_as` re-prices speech, when it does)."""
    units = line_usage(text, pace_wpm)
    return card.estimate(units, model_key) if isinstance(card, Pricing) else card.price(model_key, units)


def lineup_pricing(root: Path, chosen: ChosenLineup, price_as: str | None = None) -> Pricing:
    """The run's pricing: the project's rate card held to a lineup (duck-typed: ``panel``,
    ``videos``, ``judge``, each ``provider:model``), with ``price_as`` re-pricing its calls."""
    from slate.governor.ratecard import RateCard
    return Pricing.for_lineup(RateCard.load(root), str(chosen.panel), [str(v) for v in chosen.videos],
                              str(chosen.judge), price_as)


@dataclass(frozen=True)
class FilmEstimate:
    """Scenes' estimates and their total, held to the cap a run would obey."""

    scenes: dict[str, SceneEstimate]
    cap: Decimal

    @property
    def total(self) -> Decimal:
        return sum((e.total for e in self.scenes.values()), Decimal(0))

    @property
    def low(self) -> Decimal:
        return sum((e.low for e in self.scenes.values()), Decimal(0))

    @property
    def high(self) -> Decimal:
        return sum((e.high for e in self.scenes.values()), Decimal(0))

    @property
    def delivered(self) -> Decimal:
        return sum((e.delivered for e in self.scenes.values()), Decimal(0))

    def by_kind(self) -> dict[str, Decimal]:
        """One take of everything, by what pays for it: panels, judge calls, video, speech, passes."""
        return {"panels": sum((e.panel_cost for e in self.scenes.values()), Decimal(0)),
                "judge": sum((e.judge_cost + e.reference_cost for e in self.scenes.values()), Decimal(0)),
                "video": sum((e.video_cost for e in self.scenes.values()), Decimal(0)),
                "speech": sum((e.speech_cost for e in self.scenes.values()), Decimal(0)),
                "passes": sum((e.passes_cost for e in self.scenes.values()), Decimal(0)),
                "music": sum((e.music_cost for e in self.scenes.values()), Decimal(0))}

    def range_lines(self) -> list[str]:
        """The range, what it is made of, and the cost per delivered second."""
        kinds = self.by_kind()
        said = next(iter(self.scenes.values())).takes_from if self.scenes else "the take policy"

        def per(x: Decimal) -> str:
            return fmt_usd(usd(x / self.delivered)) if self.delivered else "$0.00"
        spoken = f", speech {fmt_usd(kinds['speech'])}" if kinds["speech"] else ""
        spoken += f", passes {fmt_usd(kinds['passes'])}" if kinds["passes"] else ""
        spoken += f", music {fmt_usd(kinds['music'])}" if kinds["music"] else ""
        return [f"one take of everything: panels {fmt_usd(kinds['panels'])}, judge {fmt_usd(kinds['judge'])}, "
                f"video {fmt_usd(kinds['video'])}{spoken}",
                f"range: {fmt_usd(self.low)} (one take per shot) .. {fmt_usd(self.high)} ({said})",
                f"cost per delivered second: {per(self.low)} .. {per(self.high)} ({self.delivered} s of picture)"]

    @property
    def fits(self) -> bool:
        return self.total <= self.cap   # a cap of $0 is a cap: only a $0 film fits it

    def verdict(self) -> str:
        return (f"expected total: {fmt_usd(self.total)} — {'fits' if self.fits else 'does NOT fit'} the per-run cap "
                f"{fmt_usd(self.cap)}")


def estimate_film(plans: Mapping[str, Sequence[PlannedShot]], pricing: Pricing, cap: Decimal, *,
                  references: Mapping[str, int] | None = None,
                  takes: Mapping[str, Mapping[str, tuple[int, int]]] | None = None,
                  expected_panel_takes: Decimal = Decimal("1.3"), expected_video_takes: Decimal = Decimal("1.1"),
                  max_takes: int = 1, takes_from: str = "the take policy", vision_judge: bool = True,
                  speech: Mapping[str, Mapping[str, Decimal]] | None = None,
                  passes: Mapping[str, Mapping[str, Decimal]] | None = None,
                  music: Mapping[str, Decimal] | None = None) -> FilmEstimate:
    """Each scene's plans priced, in the order given, against ``cap``. The range's knobs are
    estimate_scene's (`max_takes`, `takes_from`, ...), with `takes`, `references`, `speech`
    (its lines' cost by shot) and `passes` (the passes over its clips by shot) by scene."""
    references = references or {}
    takes = takes or {}
    speech = speech or {}
    passes = passes or {}
    return FilmEstimate({scene: estimate_scene(p, pricing, references=references.get(scene, 0),
                                               takes=takes.get(scene), expected_panel_takes=expected_panel_takes,
                                               expected_video_takes=expected_video_takes, max_takes=max_takes,
                                               takes_from=takes_from, vision_judge=vision_judge,
                                               speech=speech.get(scene), passes=passes.get(scene),
                                               music=(music or {}).get(scene, Decimal(0)))
                         for scene, p in plans.items()}, Decimal(cap))


def takes_so_far(rows: Iterable[CallRow], scene: str) -> dict[str, tuple[int, int]]:
    """What each shot of `scene` needed so far, from the film's ledger rows: (panel takes — the
    most of any of its moments —, video takes), each at least 1. Every take counts, refused or
    failed ones too: each was a call the film paid for or risked."""
    panels: dict[str, int] = {}
    videos: dict[str, int] = {}
    for r in rows:
        if r.scene != scene:
            continue
        if r.stage == "panel":
            panels[r.shot] = max(panels.get(r.shot, 0), int(r.take))
        elif r.stage == "video":
            videos[r.shot] = max(videos.get(r.shot, 0), int(r.take))
    return {shot: (max(1, panels.get(shot, 0)), max(1, videos.get(shot, 0))) for shot in {*panels, *videos}}
