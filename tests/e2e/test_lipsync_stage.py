"""The lip-sync stage inside a scene run (issue 38): the local painter's mouths, the sync gate.

The example cut to shot 1D (medium; Gabe's "Too hot. Take it back.", on camera): his clip is
lip-synced once by the local lip-sync model (one `lipsync` ledger row at $0, its job booked by the
provider), the sync gate reads his mouth on his line within the gate's tolerance, the cut is the
synced clip, and a second run pays nothing. The stage's rules (a mouth off its line retaken, then
escalated; a wide shot never synced) are held on one shot in-process:
tests/integration/test_stage_rules.py.

Lines and faults are set on the test's copy of the example, never on the example itself."""
from __future__ import annotations

import pytest

from slate.flows.scene import scene_flow
from slate.governor.ledger import Ledger
from slate.providers.local import LocalLipSync
from slate.providers.storage_local import LocalStorage
from tests.scene_cuts import keep_shots

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_calls")]

FILM = "night-diner"


def _lipsync_rows(root) -> list:
    return [r for r in Ledger.for_project(root).rows(film=FILM) if r.stage == "lipsync"]


def test_an_on_camera_line_is_lip_synced_once_and_measured(example_film, prefect_harness):
    keep_shots(example_film, ("1D",))
    done = scene_flow(project=str(example_film), return_state=True).result()
    [shot] = done.shots
    assert shot.status == "approved", shot.reason
    [reading] = shot.lip_sync
    assert (reading.line, reading.speaker, reading.take, reading.verdict) == (0, "gabe", 1, "passed"), reading
    assert abs(reading.offset_ms) <= 40 and reading.confidence >= 0.7, reading
    # Paid once, where the money lands: one ledger row, one job in the provider's own book.
    [row] = _lipsync_rows(example_film)
    assert (row.shot, row.status, row.provider, row.model) == ("1D", "succeeded", "local", "local-lipsync-v1")
    assert row.parameters["seed"] == 1 and row.parameters["faces"][0]["speaker"] == "gabe"
    assert len(LocalLipSync(LocalStorage(example_film)).submissions()) == 1
    # The gate's judgement beside the call, where the report and an agent read every gate: a $0 row.
    [note] = [r for r in Ledger.for_project(example_film).rows(film=FILM) if r.stage == "sync_gate"]
    assert (note.shot, note.take, note.error_class) == ("1D", 1, "SyncGatePassed")
    assert note.parameters["readings"][0]["offset_ms"] == reading.offset_ms
    # Where people look: an agent's `verdicts` of the shot, and the production report's page.
    from decimal import Decimal

    from slate.agent.context import verdicts
    from slate.agent.session import Session
    from slate.manifests import load_film
    from slate.manifests.settings import project_settings
    from slate.tasks.review.production_report import build
    [seen] = [v for v in verdicts(Session(example_film, cap=Decimal(0)), "scene-01", "1D")["verdicts"]
              if v["stage"] == "sync_gate"]
    assert seen["verdict"]["outcome"] == "SyncGatePassed"
    assert seen["verdict"]["readings"][0]["offset_ms"] == reading.offset_ms
    page = build(example_film, load_film(example_film), project_settings(example_film),
                 LocalStorage(example_film)).read_text()
    assert "SyncGatePassed" in page and "gabe&#39;s mouth is in sync" in page.replace("'", "&#39;"), page[-2000:]
    everything = len(Ledger.for_project(example_film).rows(film=FILM))

    again = scene_flow(project=str(example_film), return_state=True).result()
    assert again.provider_calls == 0 and len(Ledger.for_project(example_film).rows(film=FILM)) == everything
    assert len(LocalLipSync(LocalStorage(example_film)).submissions()) == 1


def test_the_finished_cut_keeps_the_sync_through_a_dissolve(example_film, prefect_harness, tmp_path):
    """Issue 38 item 5: the sync measured again on the delivered cut — its picture and its mixed
    sound, after a dissolve into the synced shot (which moves the shot and its line earlier in the
    cut), the finishing pass's grade, music and loudness — agrees with the gate's reading of the
    synced clip: the edit and the finish never shift speech against picture."""
    import json
    import subprocess
    from functools import partial

    import yaml

    from slate.manifests import load_film
    from slate.media.ffmpeg import ffmpeg_exe
    from slate.media.lipsync import judge_sync
    from slate.tasks.edit.export import record_path
    from slate.tasks.gates.keyframes import ClipCast, cast_of

    keep_shots(example_film, ("1C", "1D"))
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"][0]["transition_out"] = {"kind": "dissolve", "duration": 0.5}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))

    done = scene_flow(project=str(example_film), return_state=True).result()
    wide, shot = done.shots
    assert (wide.status, shot.status) == ("approved", "approved"), (wide.reason, shot.reason)
    [synced] = shot.lip_sync
    record = json.loads(record_path(example_film, "scene-01", "draft").read_text())
    [line] = [x for x in record["lines"] if x["speaker"] == "gabe"]
    # 1C is 3.5 s, dissolving for 0.5 s into 1D: the line (at its offset in 1D) is 0.5 s earlier
    # in the cut than 1D's place after a plain cut.
    gabe_at = next(s for s in record["shots"] if s["shot"] == "1D")
    assert line["start"] < 3.5 + 0.5, (line, gabe_at)

    cut = example_film / "renders" / "scene-01-draft.mp4"
    heard = tmp_path / "cut.wav"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(cut), "-map", "0:a:0", "-ac", "1", "-ar", "22050",
                    "-c:a", "pcm_s16le", str(heard)], check=True)
    film = load_film(example_film)
    scene = film.scene("scene-01")
    who = ClipCast(("gabe", "jenny"), {c: example_film / film.character(c).turnaround_key for c in ("gabe", "jenny")},
                   {c: w.colour for c, w in scene.wardrobe.items()},
                   example_film / film.location(scene.location_of(scene.shot("1D"))).plate_key)
    again = judge_sync(cut, heard, speaker="gabe", span=(line["start"], line["end"]), cast=partial(cast_of, who),
                       named=who.named)
    assert again.verdict == "passed", again
    assert abs(again.offset_ms - synced.offset_ms) <= 40, (again, synced)
