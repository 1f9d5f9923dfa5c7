"""The example scene end to end under a real (test-harness) Prefect server.

Renders the 9-shot example at the draft profile, checks the mp4 by probing it (duration is the
sum of shot durations minus dissolve overlaps, 854x480, H.264), then runs the same scene again
and checks that not one provider call was made.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
import yaml

from slate.manifests.options import RunOptions
from slate.flows.scene import scene_flow
from slate.governor.ledger import Ledger
from slate.manifests import load_film
from slate.media import probe
from slate.media.subtitles import read_srt, subtitle_streams
from slate.tasks.edit.export import record_path
from tests.scene_cuts import fit_music, keep_shots, without_finishing

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_calls")]


def test_example_scene_renders_and_second_run_is_free(example_film, prefect_harness, monkeypatch):
    # All nine shots and the finishing pass: the one render of the example scene as shipped.
    monkeypatch.setenv("SLATE_LOCAL_EASELS", "2")  # as on a 2-core machine, whatever this one has
    began = datetime.now(timezone.utc)
    started = time.time()
    import warnings
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        state = scene_flow(project=str(example_film), return_state=True)
    # Issue 35: a run printed 1,176 lines of numpy's RankWarning. What Python shows by default (not
    # the deprecations it hides) must be nothing, from any library, in a render of the example.
    shown = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in said
             if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, ImportWarning,
                                            ResourceWarning))]
    assert shown == [], shown[:10]
    first = state.result()
    first_seconds = time.time() - started
    scene = load_film(example_film).scene("scene-01")

    assert state.name == "Completed", [s.reason for s in first.escalated]
    assert [s.status for s in first.shots] == ["approved"] * 9
    assert first.provider_calls >= 9 * 4  # panel + gate + video + keyframe gate per shot, at least
    p = probe(first.output)
    assert p.codec == "h264"
    assert (p.width, p.height) == (854, 480)
    assert abs(p.duration - scene.total_seconds()) <= 1 / 24 + 1e-6, (p.duration, scene.total_seconds())
    assert (example_film / "renders" / "scene-01-draft-contact.png").is_file()
    # The chain 1D → 1E → 1F: the chained shots start from the previous shot's last frame.
    started_from = {s.shot: s.started_from for s in first.shots}
    assert started_from["1E"] == started_from["1F"] == "previous last frame"
    # 1E (the scene's 5th shot: a drift check) ends on its end panel; its SSIM is taken against
    # that, the picture its frames come from (against its start panel, where the chain's
    # figures do not stand, it read 0.82). Every cut into a shot that starts from its own panel
    # is held to its blocking, clean (a chained start is held by its colours alone).
    drift = {s.shot: s.drift_detail for s in first.shots if s.drift_detail}
    assert drift["1E"]["ssim"] >= 0.9 and not drift["1E"]["reanchor"], drift
    laid_out = [(s.shot, s.continuity) for s in first.shots if s.continuity is not None and s.started_from == "panel"]
    # (The lowest blocking score of a cut now counts the continuity ledger's props and sides,
    # held at 0.85, as the panel gate holds them: a clean clip's first frame reads 0.88 and up.)
    assert len(laid_out) >= 4 and all(v >= 0.85 for _, v in laid_out), laid_out

    # One video job in flight per provider key: the limit exists, strict, with one slot, and
    # no two video calls of the ledger overlap in time.
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName, TaskRunFilterStartTime
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name("video-local-local").limit == 1
        # The local painter paints the shots in turn, two at a time: the first shot's panel is
        # judged before the last shot's is begun (all at once, the first video waited for them all).
        names = ["panel gate 1A start take 1", "panel 1I start take 1"]
        runs = {r.name: r for r in client.read_task_runs(task_run_filter=TaskRunFilter(
            name=TaskRunFilterName(any_=names), start_time=TaskRunFilterStartTime(after_=began)))}
    assert set(runs) == set(names), sorted(runs)
    assert runs[names[0]].end_time <= runs[names[1]].start_time, [(n, runs[n].start_time, runs[n].end_time)
                                                                  for n in names]
    spans = sorted((r.submitted_at, r.finished_at) for r in Ledger.for_project(example_film).rows(film="night-diner")
                   if r.stage == "video")
    assert len(spans) == 9
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), spans

    # Issue 37: the example's three lines, spoken once each by the two voices `slate init --example`
    # sampled, judged against those approved samples, heard in the cut and subtitled beside and in it.
    speech = [r for r in Ledger.for_project(example_film).rows(film="night-diner") if r.stage == "speech"]
    assert sorted((r.shot, r.parameters["speaker"], r.prompt, r.status) for r in speech) == [
        ("1C", "jenny", "Fresh pot. Careful, it's hot.", "succeeded"), ("1D", "gabe", "Too hot. Take it back.", "succeeded"),
        ("1F", "jenny", "Be right with you.", "succeeded")]
    assert all(r.parameters["voice_version"].startswith("approved:") for r in speech), \
        [r.parameters["voice_version"] for r in speech]
    record = json.loads(record_path(example_film, "scene-01", "draft").read_text())
    assert [x["speaker"] for x in record["lines"]] == ["jenny", "gabe", "jenny"], record["lines"]
    cut = example_film / "renders" / "scene-01-draft.mp4"
    cues = read_srt(cut.with_suffix(".srt").read_text())
    assert [c.text for c in cues] == ["Fresh pot. Careful, it's hot.", "Too hot. Take it back.", "Be right with you."]
    assert cut.with_suffix(".vtt").read_text().startswith("WEBVTT")
    assert [s.codec for s in subtitle_streams(cut)] == ["mov_text"]

    started = time.time()
    again = scene_flow(project=str(example_film), return_state=True).result()
    print(f"\nexample scene: first run {first_seconds:.1f}s, {first.provider_calls} provider calls; "
          f"cached second run {time.time() - started:.1f}s, {again.provider_calls} provider calls")
    assert again.provider_calls == 0
    assert probe(again.output).duration == p.duration
    # Unchanged, the scene is one lookup: no shot's task runs again (counted on the server).
    assert _task_runs_since(started) <= 2

    # Its cut removed from renders/, the next run puts it back from storage, still without a task.
    cut = first.output
    import os
    os.remove(cut)
    started = time.time()
    third = scene_flow(project=str(example_film), return_state=True)
    assert third.name == "Completed" and third.result().output == cut and probe(cut).duration == p.duration
    assert _task_runs_since(started) <= 2


def _task_runs_since(started: float) -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterStartTime
    after = datetime.fromtimestamp(started, tz=timezone.utc)
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(task_run_filter=TaskRunFilter(start_time=TaskRunFilterStartTime(after_=after)),
                                     limit=200)
    return len(runs)


def test_off_model_shots_escalate_and_the_scene_goes_on(example_film, prefect_harness):
    """Every panel of 1G goes off-model; 1G is escalated after the take cap, the rest is made."""
    # 1A and 1C (street, diner) are the rest that is made; no finishing (the cut's length is asserted).
    without_finishing(example_film)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1A", "1C", "1G")]
    fit_music(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    # An override whose plate is another location: every take of 1G fails its panel gate.
    doc["shots"][2]["location"] = "diner"
    bad = example_film / "overrides" / "1G.png"
    bad.parent.mkdir()
    bad.write_bytes((example_film / "locations" / "street" / "street_plate_APPROVED.png").read_bytes())
    doc["shots"][2]["panel_override"] = "overrides/1G.png"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))

    state = scene_flow(project=str(example_film), options=RunOptions(max_takes=2), return_state=True)
    result = state.result()
    assert state.name == "Escalated"
    assert "1G" in state.message
    statuses = {s.shot: s.status for s in result.shots}
    assert statuses == {"1A": "approved", "1C": "approved", "1G": "escalated"}
    escalated = result.escalated[0]
    assert escalated.panel_takes == 2 and escalated.video_takes == 0
    assert "location" in escalated.reason
    scene = load_film(example_film).scene("scene-01")
    expected = scene.shot("1A").duration + scene.shot("1C").duration
    assert abs(probe(result.output).duration - expected) <= 1 / 24 + 1e-6

    # 1G was escalated by its gate's verdicts, which the same inputs always come to (issue 35):
    # the scene is in the can with its escalation, and the next run is one lookup — no task —
    # that says it again. A composite, more takes or a new seed changes the key and retakes 1G.
    started = time.time()
    again = scene_flow(project=str(example_film), options=RunOptions(max_takes=2), return_state=True)
    assert again.name == "Escalated" and "1G" in again.message and "unchanged since run" in again.message
    assert _task_runs_since(started) <= 2   # as for a clean scene served from the can, above


def test_drift_past_the_threshold_re_anchors_the_chain(example_film, prefect_harness):
    """With a drift check on every second shot and a zero threshold, 1E (the scene's second
    shot here) is measured against its approved panel and the plate, and the next chained shot,
    1F, starts from its own approved panel instead of 1E's last frame."""
    # The chain 1D → 1E → 1F alone (drift_every = 2 makes 1E due); no finishing.
    without_finishing(example_film)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1D", "1E", "1F")]
    fit_music(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    (example_film / "slate.toml").write_text("drift_every = 2\ndrift_threshold = 0.0\n")
    result = scene_flow(project=str(example_film), return_state=True).result()
    shots = {s.shot: s for s in result.shots}
    assert shots["1D"].drift is None  # not due
    assert shots["1E"].started_from == "previous last frame"
    assert shots["1E"].drift is not None and shots["1E"].drift > 0.0 and shots["1E"].reanchored
    assert shots["1F"].started_from.startswith("re-anchored panel (drift past the threshold at shot 1E: ")
    assert all(s.status == "approved" for s in result.shots)


def _two_shots(root):
    """1A and 1C, one shot on each location, no finishing: the subject is the panels' cache keys."""
    without_finishing(root)
    return keep_shots(root, ("1A", "1C"))


def test_a_fault_mode_rehearsal_and_a_clean_run_share_no_panel(example_film, example_master, prefect_harness,
                                                              tmp_path):
    """The local fault mode changes what the provider draws, so it is part of every stage's cache
    key and of the ledger's fingerprint: a clean run after a faulty rehearsal draws its own
    panels — exactly the ones a clean run in a fresh project draws."""
    import shutil
    kept = _two_shots(example_film)
    (example_film / "slate.toml").write_text('local_fault_rate = 1.0\nlocal_fault_kinds = "recolour,wrong_plate,missing"\n')
    rehearsal = scene_flow(project=str(example_film), return_state=True)
    assert rehearsal.name == "Failed"  # every take off-model: every shot escalated
    ledger = Ledger.for_project(example_film)
    faulty = {r.artifact_uri for r in ledger.rows(film="night-diner") if r.stage == "panel"}
    assert faulty

    (example_film / "slate.toml").write_text("local_fault_rate = 0.0\n")
    clean = scene_flow(project=str(example_film), return_state=True)
    result = clean.result()
    assert clean.name == "Completed" and [s.status for s in result.shots] == ["approved"] * len(kept)
    clean_panels = {r.artifact_uri for r in ledger.rows(run_id=result.run_id) if r.stage == "panel"}
    assert clean_panels and not clean_panels & faulty
    assert result.provider_calls > 0

    fresh = tmp_path / "fresh"
    shutil.copytree(example_master, fresh, ignore=shutil.ignore_patterns(".slate", "renders"))
    _two_shots(fresh)
    fresh_result = scene_flow(project=str(fresh), return_state=True).result()
    fresh_panels = {r.artifact_uri for r in Ledger.for_project(fresh).rows(run_id=fresh_result.run_id)
                    if r.stage == "panel"}
    assert clean_panels == fresh_panels


def test_a_turnaround_the_local_judge_cannot_read_is_refused_or_rehearsed_unjudged(example_film, prefect_harness):
    """A turnaround that passes the reference gate but is not the sheet the local judge reads
    (the same figures on a white ground, no alpha) is refused before anything is paid (it used
    to be found only once its shot's panels were paid for: "cannot judge" at the panel gate);
    rehearsed with cannot_judge "warn", its shot is made and reported unjudged, the other
    judged as ever."""
    # 1A (no gabe) and 1C (gabe): the unreadable sheet's shot and one other; no finishing.
    from PIL import Image
    without_finishing(example_film)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1A", "1C")]
    fit_music(doc)
    doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert "gabe" in doc["shots"][1]["characters"] and "gabe" not in doc["shots"][0].get("characters", [])
    sheet = example_film / "characters" / "gabe" / "gabe_turnaround_APPROVED.png"
    drawn = Image.open(sheet).convert("RGBA")
    white = Image.new("RGB", drawn.size, (250, 250, 248))
    white.paste(drawn, mask=drawn.getchannel("A"))
    white.save(sheet)

    state = scene_flow(project=str(example_film), options=RunOptions(max_takes=3), return_state=True)
    assert state.name == "Refused", (state.name, state.message)
    assert "characters[0].turnaround" in state.message and "the local judge cannot read it" in state.message
    assert Ledger.for_project(example_film).rows(film="night-diner") == []

    state = scene_flow(project=str(example_film), options=RunOptions(max_takes=3, cannot_judge="warn"), return_state=True)
    shots = {s.shot: s for s in state.result().shots}
    assert state.name == "Unjudged", (state.name, state.message)
    assert shots["1A"].status == "approved"
    assert shots["1C"].status == "unjudged" and shots["1C"].panel_takes == 1
    assert "cannot judge" in shots["1C"].reason


def test_a_cut_is_judged_while_the_shots_after_it_render(example_film, prefect_harness):
    """The cut into a shot is judged as soon as its clip and the clips before it are in, not
    once the whole scene is: judged one after another at the end, the cuts were the scene's
    tail (a vision judge's paid call each). The chain 1D → 1E → 1F alone, with every video job
    taking 1.5 s: 1F cannot start before 1E's clip is in, so the cut 1D → 1E is judged while
    1F renders — or, done at the end, only after 1F's video ended."""
    # The chain 1D → 1E → 1F alone; no finishing (it runs after every cut is judged).
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName, TaskRunFilterStartTime

    without_finishing(example_film)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = [s for s in doc["shots"] if s["id"] in ("1D", "1E", "1F")]
    fit_music(doc)
    doc["shots"][0].pop("chain", None)
    doc["shots"][-1].pop("transition_out", None)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with (example_film / "slate.toml").open("a") as f:
        f.write("\nlocal_latency = 1.5\n")
    began = datetime.now(timezone.utc)
    state = scene_flow(project=str(example_film), return_state=True)
    assert state.name == "Completed", state.message
    names = ["continuity 1D → 1E", "video 1F"]
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(task_run_filter=TaskRunFilter(
            name=TaskRunFilterName(any_=names), start_time=TaskRunFilterStartTime(after_=began)))
    by_name = {r.name: r for r in runs}
    assert set(by_name) == set(names), sorted(by_name)
    cut, last = by_name["continuity 1D → 1E"], by_name["video 1F"]
    assert cut.start_time < last.end_time, (cut.start_time, last.end_time)


def test_a_chained_clip_without_the_character_who_enters_escalates_and_is_served_from_the_can_again(
        example_film, prefect_harness):
    """Issue 20: a new user's 1G names Leo beside Jenny and is chained from 1F's last frame, a
    close-up of Jenny alone; issue 35: `slate check` now refuses that unless the shot says Leo
    walks in (`enters: [leo]`, the preflight's test). Its panel has Leo (the panel gate holds it);
    its clip, animated from that last frame, has no Leo in any frame, not even at its end, and the
    judge — holding the clip to the frame it started from — passes it. The keyframe gate's own
    presence check looks for Leo in the clip's last part: 1G is escalated, the reason naming Leo.

    Issue 35: the same scene run again, nothing changed, is served from the can with the same
    escalation — no provider call, no ledger row (every re-run once wrote its escalations again
    and re-ran the scene). A new seed for 1G is a change to the escalated shot: it is run again."""
    # 1F and 1G chained from it: the pair the issue is about; no finishing.
    without_finishing(example_film)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    shots = {s["id"]: s for s in doc["shots"]}
    first, chained = shots["1F"], shots["1G"]
    first["chain"] = False
    chained.update(chain=True, characters=["jenny", "leo"], enters=["leo"])
    doc["shots"] = [first, chained]
    fit_music(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))

    state = scene_flow(project=str(example_film), options=RunOptions(max_takes=2), return_state=True)
    result = state.result()
    statuses = {s.shot: s.status for s in result.shots}
    assert statuses == {"1F": "approved", "1G": "escalated"}, [(s.shot, s.reason) for s in result.shots]
    assert state.name == "Escalated", (state.name, state.message)
    escalated = result.escalated[0]
    assert escalated.panel_takes >= 1 and escalated.video_takes == 2
    assert "leo enters the shot but is in none of its frames from 80% of the clip on" in escalated.reason, \
        escalated.reason
    ledger = Ledger.for_project(example_film)
    rows = ledger.rows(film="night-diner")
    assert [r.shot for r in rows if r.error_class == "Escalated"] == ["1G"]

    again = scene_flow(project=str(example_film), options=RunOptions(max_takes=2), return_state=True)
    served = again.result()
    assert again.name == "Escalated" and "unchanged since run" in again.message, (again.name, again.message)
    assert [(s.shot, s.status, s.reason) for s in served.shots] == [(s.shot, s.status, s.reason) for s in result.shots]
    assert served.provider_calls == 0
    assert len(ledger.rows(film="night-diner")) == len(rows), \
        [(r.shot, r.stage, r.error_class) for r in ledger.rows(film="night-diner")[len(rows):]]

    chained["seed"] = 7
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    changed = scene_flow(project=str(example_film), options=RunOptions(max_takes=2), return_state=True)
    assert "unchanged since run" not in (changed.message or ""), changed.message
    new = [r for r in ledger.rows(film="night-diner")[len(rows):] if r.status == "succeeded"]
    assert {r.shot for r in new if r.stage == "video"} == {"1G"}, [(r.shot, r.stage) for r in new]
