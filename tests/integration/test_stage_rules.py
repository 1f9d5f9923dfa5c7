"""Each pass's own rule on one shot, in-process (tests/one_shot.py): no scene rendered.

- the lip-sync: a mouth made to lead or lag its line (the local painter's `lip_offset`) fails the
  sync gate take after take, is made again with the next seed up to the take cap, then escalates
  naming the line and the offsets measured; a wide shot's line is never lip-synced; a line the
  sync gate cannot judge keeps its shot's picture in the cut (or, at `cannot_judge = warn`, goes on);
- the speech: a line spoken in the wrong voice (the local voice's `wrong_voice`) fails the voice
  gate take after take, each a new seed, then escalates naming the scene, shot, line and speaker —
  the shot keeping its picture without the line (or, `dialogue_failure = "drop_shot"`, leaving the cut);
- the face swap (on the fake ComfyUI): a swap that repaints the set is taken again; one that
  spoils another face every time escalates out of the cut;
- the upscale (on the fake ComfyUI): a workflow that makes its own size fails the check take
  after take, then escalates naming what the check found.

Counted where they land: the ledger's rows of the stage, their seeds. These were whole-scene
renders (tests/e2e/test_lipsync_stage.py, test_speech_stage.py, test_faceswap_stage.py,
test_upscale_after_approval.py) until the stages had one take loop.
"""
from __future__ import annotations

import re

import pytest
import yaml

from slate.governor.ledger import Ledger
from tests.one_shot import on_one_shot, speech_wav

pytestmark = pytest.mark.usefixtures("local_calls", "prefect_harness")


def _rows(root, stage: str) -> list:
    return sorted((r for r in Ledger.for_project(root).rows() if r.stage == stage), key=lambda r: r.take)


def _line(run, shot: str, speaker: str, *, at: float = 0.3, seconds: float = 1.2, wav: bytes | None = None):
    """`speaker`'s line in `shot`, spoken-like (`wav`: its own sound instead)."""
    from slate.flows.shot.scene_speech import VoicedLine
    return VoicedLine(shot=shot, line=0, speaker=speaker, text="Too hot. Take it back.",
                      uri=run.crew.storage.put_bytes(wav if wav is not None else speech_wav(seconds), "wav"),
                      seconds=seconds, offset=at, take=1, off_screen=False, reference="approved")


def test_a_mouth_off_its_line_is_retaken_then_escalates_naming_the_offset(example_film, monkeypatch):
    from slate.flows.shot.scene_lipsync import sync_shot
    monkeypatch.setenv("SLATE_LOCAL_FAULT_RATE", "1.0")
    monkeypatch.setenv("SLATE_LOCAL_FAULT_KINDS", "lip_offset")
    shot = on_one_shot(example_film, "1D", {"max_takes": 3, "no_progress_takes": 3},
                       lambda run, plan, made: sync_shot.fn(run, plan, made.clip, [_line(run, "1D", "gabe")]))
    assert shot.escalated and not shot.clip_uri and not shot.lip_sync, shot
    assert "scene scene-01, shot 1D: the lip-sync failed the sync gate in 3 takes" in shot.escalated, shot.escalated
    assert "line 0 (gabe)" in shot.escalated, shot.escalated
    offsets = [abs(int(m)) for m in re.findall(r"by (\d+) ms", shot.escalated)]
    assert offsets and all(100 <= o <= 450 for o in offsets), shot.escalated
    rows = _rows(example_film, "lipsync")
    assert [r.parameters["seed"] for r in rows] == [1, 2, 3] and {r.shot for r in rows} == {"1D"}
    assert [r.error_class for r in _rows(example_film, "sync_gate")] == ["SyncGateFailed"] * 3


def test_a_wide_shots_line_is_never_lip_synced(example_film):
    from slate.flows.shot.scene_lipsync import lipsync_of
    shot = on_one_shot(example_film, "1C", {},
                       lambda run, plan, made: (made.clip, lipsync_of(run, plan, made.clip, [_line(run, "1C", "gabe")])))
    given, kept = shot
    assert kept.clip_uri == given.clip_uri and not kept.escalated and not kept.lip_sync
    assert not _rows(example_film, "lipsync")


@pytest.mark.parametrize("cannot_judge", ["block", "warn"])
def test_a_line_the_sync_gate_cannot_judge_keeps_the_picture_in_the_cut(example_film, cannot_judge):
    """Issue 57's done-when: a shot whose sync gate cannot judge stays in the cut. 1D's line is
    silent where it is said, so no mouth can be held to it: the gate answers "cannot judge",
    never a pass, and the loop stops at that take (another take shows the same face). At `block`
    the shot keeps its un-synced clip in the cut, escalated for its line only (what the timeline
    marks); at `warn` the synced clip goes on, said."""
    from slate.flows.shot.scene_lipsync import lipsync_of
    from slate.providers.audio import pcm16_wav
    silence = pcm16_wav(bytes(2 * 22050), 22050)   # a second of it
    given, kept = on_one_shot(example_film, "1D", {"max_takes": 3, "cannot_judge": cannot_judge},
                              lambda run, plan, made: (made.clip, lipsync_of(run, plan, made.clip, [
                                  _line(run, "1D", "gabe", seconds=1.0, wav=silence)])))
    assert [r.error_class for r in _rows(example_film, "sync_gate")] == ["SyncGateCannotJudge"]   # its reading
    assert len(_rows(example_film, "lipsync")) == 1            # one take: the next would show the same face
    if cannot_judge == "block":
        assert kept.clip_uri == given.clip_uri and not kept.escalated and not kept.lip_sync, kept
        assert "cannot judge gabe's lip-sync: the speech is silent" in kept.dialogue_failed, kept.dialogue_failed
        assert kept.dialogue_failed.endswith("its picture stays in the cut, not lip-synced"), kept.dialogue_failed
    else:
        assert kept.clip_uri and kept.clip_uri != given.clip_uri and not kept.dialogue_failed, kept
        assert [r.verdict for r in kept.lip_sync] == ["cannot_judge"], kept.lip_sync


def _voiced(root, shot: str, speaker: str, text: str) -> None:
    """`speaker` given a local voice, and `shot` (only) given their line."""
    bible = root / "bible.yaml"
    doc = yaml.safe_load(bible.read_text())
    for c in doc["characters"]:
        if c["id"] == speaker:
            c["voice"] = {"description": "adult, low pitch, even pace", "provider": "local", "voice": "male_low"}
    bible.write_text(yaml.safe_dump(doc, sort_keys=False))
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    for s in doc["shots"]:
        s.pop("dialogue", None)
        if s["id"] == shot:
            s["dialogue"] = [{"speaker": speaker, "text": text}]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.mark.parametrize("failure", ["keep_picture", "drop_shot"])
def test_a_line_in_the_wrong_voice_is_retaken_then_escalates_naming_it(example_film, monkeypatch, failure):
    """The line escalates; its shot keeps its picture in the cut without the line (issue 57), or
    with `dialogue_failure = "drop_shot"` leaves the cut as it did before."""
    from slate.flows.shot.scene_speech import VoiceReferences, voice_lines_of
    from slate.manifests import load_film
    monkeypatch.setenv("SLATE_LOCAL_FAULT_RATE", "1.0")
    monkeypatch.setenv("SLATE_LOCAL_FAULT_KINDS", "wrong_voice")
    _voiced(example_film, "1C", "gabe", "Coffee, black, and the pie.")
    film = load_film(example_film)
    clip, heard, given = on_one_shot(
        example_film, "1C", {"max_takes": 3, "no_progress_takes": 3, "dialogue_failure": failure},
        lambda run, plan, made: (*voice_lines_of(run, film, plan, made.clip, VoiceReferences(example_film)),
                                 made.clip))
    why = clip.dialogue_failed if failure == "keep_picture" else clip.escalated
    assert not heard and why, clip
    if failure == "keep_picture":
        assert clip.clip_uri == given.clip_uri and not clip.escalated, clip
        assert why.endswith("its picture stays in the cut, without its lines"), why
    else:
        assert not clip.clip_uri and not clip.dialogue_failed, clip
    assert "scene scene-01, shot 1C, line 0 (gabe: 'Coffee, black, and the pie.')" in why, why
    assert "the line failed the voice gate against the" in why and "wrong speaker" in why
    rows = _rows(example_film, "speech")
    assert [(r.shot, r.parameters["line"], r.parameters["seed"]) for r in rows] == [("1C", 0, s) for s in (1, 2, 3)]


# The face swap and the upscale on the film's own ComfyUI workflows, served by the fake ComfyUI
# (tests/fakes/comfyui.py) over real HTTP.
SWAP = {"faceswap_model": "comfyui:faceswap-reactor"}


def _swapped(root, told: dict):
    from slate.flows.shot.passes import pass_shot
    return on_one_shot(root, "1D", told, lambda run, plan, made: pass_shot.fn(
        run, plan.model_copy(update={"face_swap": ["jenny"]}), made.clip, "faceswap"))


def test_a_swap_that_repaints_the_set_fails_its_gate_and_is_taken_again(example_film, fakes, monkeypatch):
    monkeypatch.setenv("SLATE_COMFYUI_POLL_SECONDS", "0.1")
    fakes.faults({"provider": "comfyui", "op": "run", "kind": "swap_background"})
    shot = _swapped(example_film, {**SWAP, "max_takes": 3})
    assert shot.clip_uri and not shot.escalated, shot.escalated
    assert [(r.take, r.status) for r in _rows(example_film, "faceswap")] == [(1, "succeeded"), (2, "succeeded")]
    gates = _rows(example_film, "faceswap_gate")
    assert [g.error_class for g in gates] == ["SwapGateFailed", "SwapGatePassed"]
    assert "changed" in gates[0].error_message, gates[0].error_message
    assert shot.clip_uri == _rows(example_film, "faceswap")[1].artifact_uri


def test_a_shot_whose_every_swap_spoils_another_face_escalates_out_of_the_cut(example_film, fakes, monkeypatch):
    monkeypatch.setenv("SLATE_COMFYUI_POLL_SECONDS", "0.1")
    for _ in range(2):
        fakes.faults({"provider": "comfyui", "op": "run", "kind": "swap_wrong_face"})
    shot = _swapped(example_film, {**SWAP, "max_takes": 2})
    assert not shot.clip_uri and "face swap of jenny failed the swap gate in 2 takes" in shot.escalated, shot
    assert [r.take for r in _rows(example_film, "faceswap")] == [1, 2]
    gates = _rows(example_film, "faceswap_gate")
    assert [g.error_class for g in gates] == ["SwapGateFailed", "SwapGateFailed"]
    assert all("gabe" in g.error_message for g in gates), [g.error_message for g in gates]
    assert len(fakes.jobs("comfyui")) == 2


def test_an_upscale_that_fails_its_check_is_taken_again_then_escalated(example_film, fakes, monkeypatch):
    """The film's own upscale mapping fills no size: the workflow makes its own 1920x1080, not the
    size asked — every take fails the check, the next seed is tried, then the shot escalates out
    of the cut, naming what the check found."""
    from slate.flows.shot.passes import pass_shot
    monkeypatch.setenv("SLATE_COMFYUI_POLL_SECONDS", "0.1")
    mapping = example_film / "comfyui" / "upscale-esrgan.toml"
    mapping.write_text("\n".join(line for line in mapping.read_text().splitlines()
                                 if not line.startswith(("width", "height"))) + "\n")
    shot = on_one_shot(example_film, "1A", {"upscale_model": "comfyui:upscale-esrgan", "max_takes": 2},
                       lambda run, plan, made: pass_shot.fn(run, plan, made.clip, "upscale"))
    assert not shot.clip_uri and "failed the upscale check in 2 takes" in shot.escalated, shot
    assert "is 1920x1080, asked 1708x960" in shot.escalated, shot.escalated      # twice the clip's 854x480
    assert [(r.take, r.parameters["seed"]) for r in _rows(example_film, "upscale")] == [(1, 1), (2, 2)]
    assert [r.error_class for r in _rows(example_film, "upscale_check")] == ["UpscaleCheckFailed"] * 2
    assert len(fakes.jobs("comfyui")) == 2
