"""What a scene is expected to cost before any of it is generated.

What it is for: pricing a scene's shot plans with a run's ``Pricing`` (panels, judge gates,
clips), with expected-retake multipliers, so a film-maker sees the bill per shot and the
governor can refuse a run whose estimate does not fit its cap.

What it must never do: hold a price (every amount comes from the rate card), use ``float``
for money, or call a provider. Plans are duck-typed (``shot, duration, resolution, end,
width, height, fps``) so this module does not import ``tasks``.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Sequence

from governor.chokepoint import Units
from governor.money import fmt_usd, usd
from governor.ratecard import Pricing

__all__ = ["ShotEstimate", "SceneEstimate", "FilmEstimate", "estimate_scene", "estimate_film", "lineup_pricing",
           "JUDGE_TOKENS"]

# One judge call: the panel or five keyframes plus references at ~1290 tokens an image, a
# ~400-token rubric, a ~300-token structured verdict (tasks/gate.py, tasks/keyframes.py).
JUDGE_TOKENS = (5 * 1290 + 400, 300)


@dataclass(frozen=True)
class ShotEstimate:
    """One shot, one take of everything, then the expected total with retakes."""

    shot: str
    seconds: Decimal         # the shot's length
    billed_seconds: Decimal  # what the video model bills for it (rounded up to what it can make)
    resolution: str
    panels: int              # 1, or 2 for start+end
    panel_cost: Decimal      # panels × one image
    judge_cost: Decimal      # panels × panel gate + one keyframe gate
    video_cost: Decimal      # one clip
    expected: Decimal        # panel takes × (panels + their gates) + video takes × (clip + its gate)


@dataclass(frozen=True)
class SceneEstimate:
    lines: tuple[ShotEstimate, ...]
    pricing: Pricing
    expected_panel_takes: Decimal
    expected_video_takes: Decimal

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
    def seconds(self) -> Decimal:
        return sum((l.seconds for l in self.lines), Decimal("0"))

    @property
    def one_take(self) -> Decimal:
        """Every shot done once, no retakes: the floor of the bill."""
        return usd(self.panel_cost + self.judge_cost + self.video_cost)

    @property
    def total(self) -> Decimal:
        """Expected bill, retakes included: what is compared with a cap."""
        return usd(sum((l.expected for l in self.lines), Decimal("0")))

    def fits(self, cap: Decimal | str | int) -> bool:
        # usd() refuses a float cap, like everything else that touches money.
        return self.total <= usd(cap)

    def render_table(self) -> list[tuple[str, ...]]:
        """Header, one row per shot, a total row; all cells are display strings."""
        rows: list[tuple[str, ...]] = [("shot", "seconds", "billed s", "res", "panels", "panels $", "judge $",
                                        "video $", "expected $")]
        for l in self.lines:
            rows.append((l.shot, f"{l.seconds}", f"{l.billed_seconds}", l.resolution, str(l.panels), fmt_usd(l.panel_cost),
                         fmt_usd(l.judge_cost), fmt_usd(l.video_cost), fmt_usd(l.expected)))
        rows.append(("TOTAL", f"{self.seconds}", f"{sum(l.billed_seconds for l in self.lines)}", "", str(sum(l.panels for l in self.lines)),
                     fmt_usd(self.panel_cost), fmt_usd(self.judge_cost), fmt_usd(self.video_cost),
                     fmt_usd(self.total)))
        return rows


def _takes(name: str, x: Decimal | str | int) -> Decimal:
    if isinstance(x, (float, bool)):
        raise TypeError(f"{name} must be a Decimal, str or int (never float), got {x!r}")
    d = Decimal(x)
    if d < 1:
        raise ValueError(f"{name} must be >= 1 (every shot is done at least once), got {x!r}")
    return d


def estimate_scene(plans: Sequence[Any], pricing: Pricing, *,
                   expected_panel_takes: Decimal = Decimal("1.3"),
                   expected_video_takes: Decimal = Decimal("1.1"),
                   judge_tokens: tuple[int, int] = JUDGE_TOKENS) -> SceneEstimate:
    """Price each plan: panels (1, or 2 in start+end mode) each judged by the panel gate,
    then one clip judged by the keyframe gate; retakes scale each part by its multiplier."""
    panel_takes = _takes("expected_panel_takes", expected_panel_takes)
    video_takes = _takes("expected_video_takes", expected_video_takes)
    judge_in, judge_out = judge_tokens
    # Same for every call of the scene, so priced once.
    video_rate = pricing.card.rate(pricing.video_key, "video")
    gate = pricing.estimate(Units("judge", input_tokens=judge_in, output_tokens=judge_out))
    lines = []
    for p in plans:
        panels = 2 if p.end else 1
        # Priced as tasks/panel.py describes the call: one image at the panel's height.
        image = pricing.estimate(Units("image", images=1, resolution=f"{p.height}p"))
        clip = pricing.estimate(Units("video", seconds=p.duration, resolution=p.resolution))
        panel_cost = image * panels
        judge_cost = gate * panels + gate
        expected = panel_takes * panels * (image + gate) + video_takes * (clip + gate)
        seconds = Decimal(repr(p.duration)) if isinstance(p.duration, float) else Decimal(p.duration)
        lines.append(ShotEstimate(shot=p.shot, seconds=seconds,
                                  billed_seconds=video_rate.billed_seconds(p.duration), resolution=p.resolution, panels=panels,
                                  panel_cost=usd(panel_cost), judge_cost=usd(judge_cost),
                                  video_cost=usd(clip), expected=usd(expected)))
    return SceneEstimate(tuple(lines), pricing, panel_takes, video_takes)


def lineup_pricing(root, chosen, price_as: str | None = None) -> Pricing:
    """The run's pricing: the project's rate card held to a lineup (duck-typed: ``panel``,
    ``videos``, ``judge``, each ``provider:model``), with ``price_as`` re-pricing its calls."""
    from governor.ratecard import RateCard
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
    def fits(self) -> bool:
        return self.total <= self.cap   # a cap of $0 is a cap: only a $0 film fits it

    def verdict(self) -> str:
        return (f"expected total: {fmt_usd(self.total)} — {'fits' if self.fits else 'does NOT fit'} the per-run cap "
                f"{fmt_usd(self.cap)}")


def estimate_film(plans: dict[str, Sequence[Any]], pricing: Pricing, cap: Decimal) -> FilmEstimate:
    """Each scene's plans priced, in the order given, against ``cap``."""
    return FilmEstimate({scene: estimate_scene(p, pricing) for scene, p in plans.items()}, Decimal(cap))
