"""A panel that breaks the continuity ledger is retaken before any video of its shot is paid.

Shot 1D of the example: the mug, full, starts frame left and is slid to Jenny (frame right); Gabe frame left facing right,
Jenny frame right facing left; a warm key light from frame left. The local painter is told to
get one thing wrong on a seeded half of its panels (`prop_moved`, the film's own fault mode), with
the seed picked so that 1D's first start panel is drawn with the mug at another side of the
frame and its second is drawn right. The shot's panel stage and then its video stage run
in-process (tests/one_shot.py) with the real governor and ledger; what is counted is where it
lands: the ledger's rows, in the order they were written.
"""
from __future__ import annotations

from tests.one_shot import on_one_shot

SHOT = "1D"
KINDS = ("prop_moved",)
RATE = 0.5


def _seed_for(plan) -> int:
    """A fault seed under which 1D's start panel take 1 is drawn wrong, take 2 and end take 1 right."""
    from slate.providers.local_draw import choose_fault

    def faulty(moment: str, take: int, seed: int) -> bool:
        return choose_fault(RATE, seed, KINDS, "panel", plan.panel_request(moment, take).fingerprint()) is not None

    return next(s for s in range(500) if faulty("start", 1, s) and not faulty("start", 2, s)
                and not (plan.end and faulty("end", 1, s)))


def test_a_panel_with_its_prop_out_of_place_is_retaken_before_any_video_is_paid(example_film, prefect_harness,
                                                                                   monkeypatch):
    from slate.flows.shot.shot import PanelOutcome, shoot_panels, shoot_video
    from slate.governor.ledger import Ledger
    from slate.manifests import load_film
    from slate.tasks.shot.plan import plan_from_project

    monkeypatch.setenv("SLATE_PAID_CALLS_ALLOWED", "local")
    plan = {p.shot: p for p in plan_from_project(load_film(example_film), "scene-01", "draft", 12)}[SHOT]
    assert plan.request_of("start").continuity["props"]["mug"]["side"] == "left"
    seed = _seed_for(plan)
    toml = example_film / "slate.toml"
    toml.write_text((toml.read_text() if toml.is_file() else "")
                    + f'\n[providers.local]\nfault_rate = {RATE}\nfault_seed = {seed}\nfault_kinds = "prop_moved"\n')

    def body(run, plan, made):
        panels = shoot_panels.fn(run, plan)
        panels = getattr(panels, "data", panels)
        assert isinstance(panels, PanelOutcome)
        clip = shoot_video.fn(run, plan, panels, None, None, {}, None)
        return panels, getattr(clip, "data", clip)

    panels, clip = on_one_shot(example_film, SHOT, {"max_takes": 3}, body)
    starts = [t for t in panels.takes if t.moment == "start"]
    assert [t.passed for t in starts] == [False, True], [t.reasons for t in starts]
    # Named with the cut it broke: the ledger has the mug frame left since 1C poured it.
    assert any("mug" in r and "frame left, full, since 1C" in r for r in starts[0].reasons), starts[0].reasons
    assert panels.approved["start"] == starts[1].uri
    assert clip.clip_uri and not clip.escalated

    rows = [r for r in Ledger.for_project(example_film).rows() if r.shot == SHOT]
    panel_rows = [r for r in rows if r.stage == "panel"]
    video_rows = [r for r in rows if r.stage == "video"]
    # In the order written: the panel and its gate, the panel again and its gate, then the clip.
    assert [(r.stage, r.take, r.status) for r in rows][:5] == [
        ("panel", 1, "succeeded"), ("panel_gate", 1, "succeeded"), ("panel", 2, "succeeded"),
        ("panel_gate", 2, "succeeded"), ("video", 1, "succeeded")], [(r.stage, r.take, r.status) for r in rows]
    assert video_rows, "the shot's clip was never paid for"
    retake = max(r.id for r in panel_rows)
    assert min(r.id for r in video_rows) > retake, "a clip was paid for before the panel was retaken"
