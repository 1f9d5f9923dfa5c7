"""Reference shots rendered whole: offline with their references placed and no panel, and through the fakes."""

from __future__ import annotations

import pytest
import yaml
from slate.governor.ledger import Ledger
from slate.cli import app

from tests.integration.test_reference_shots import check, reference_shot, runner


@pytest.mark.e2e
@pytest.mark.usefixtures("local_calls", "prefect_harness")
def test_a_reference_shot_renders_offline_with_its_references_placed_and_no_panel(example_film):
    from slate.providers.local import LocalVideo
    from slate.providers.storage_local import LocalStorage
    reference_shot(example_film)
    out = runner.invoke(app, ["run", str(example_film), "--cap", "25"])
    assert out.exit_code == 0 and "state: Completed" in out.output, out.output[-3000:]
    rows = Ledger.for_project(example_film).rows(film="night-diner")
    # No panel was made for 1C, nor judged: its clip was made from references alone.
    assert {r.stage for r in rows if r.shot == "1C"} >= {"video", "keyframe_gate"}
    assert not [r for r in rows if r.shot == "1C" and r.stage in ("panel", "panel_gate")]
    assert [r for r in rows if r.shot == "1A" and r.stage == "panel"]
    # What the local provider was asked: no frame, the cast's sheets, the plate and the mug.
    jobs = LocalVideo(LocalStorage(example_film)).jobs
    asked = [__import__("json").loads(p.read_text())["request"] for p in jobs.glob("*/job.json")]
    ref_jobs = [a for a in asked if a.get("references")]
    assert ref_jobs and all(a["start_uri"] == "" for a in ref_jobs)
    assert [(r["kind"], r["name"]) for r in ref_jobs[0]["references"]] == [
        ("character", "gabe"), ("character", "jenny"), ("location", "diner"), ("extra", "props/mug.png")]
    assert all(not a.get("references") and a["start_uri"] for a in asked if a not in ref_jobs)
    # The frame the local provider animated holds the cast where it placed them: without the
    # character references the same board is the bare set (and the mug).
    import numpy as np

    from slate.providers.base import ClipRequest
    from slate.providers.local import reference_board
    storage = LocalStorage(example_film)
    req = ClipRequest(**ref_jobs[0])
    placed = np.asarray(reference_board(storage, req), dtype=np.float32)
    bare = np.asarray(reference_board(storage, ClipRequest(**{**ref_jobs[0], "references": [
        r for r in ref_jobs[0]["references"] if r["kind"] != "character"]})), dtype=np.float32)
    changed = (np.abs(placed - bare).max(axis=-1) > 40).mean()
    assert changed > 0.02, changed   # two figures of a wide shot: a few percent of the frame (none: 0)


@pytest.mark.e2e
@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("video,field", [
    ("replicate:bytedance/seedance-2.0", "reference_images"),
    ("gemini:veo-3.1-generate-preview", "referenceImages"),
], ids=["replicate-seedance-2.0", "gemini-veo-3.1"])
def test_a_reference_shot_renders_through_the_fakes(example_film, fakes, video, field):
    reference_shot(example_film, extra=False)
    # The fakes stand the turnarounds' figures on the plate as drawn: they cannot read a prompt's
    # wardrobe, which a real model dresses them in. The scene's wardrobe is taken off, so the gate
    # (which looks for each character in the scene's wardrobe) judges what the fakes can make.
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc.pop("wardrobe", None)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    # The card prices Seedance 2.0 at its 720p default only: this film prices its 480p drafts the same.
    (example_film / "rates.toml").write_text(
        '[models."replicate:bytedance/seedance-2.0"]\nkind = "video"\n'
        'per_second = { "480p" = "0.29", "720p" = "0.29" }\nmin_seconds = 1\nmax_seconds = 15\n'
        'billing_seconds = "ceil"\nsource = "the test film: 480p as 720p"\nconfidence = "?"\n')
    args = ["--panel-model", "gemini", "--judge", "gemini", "--video-model", video]
    checked = check(example_film, *args)
    assert checked.exit_code == 0, checked.output
    out = runner.invoke(app, ["run", str(example_film), *args, "--cap", "25"])
    assert out.exit_code == 0 and "state: Completed" in out.output, out.output[-3000:]
    rows = Ledger.for_project(example_film).rows(film="night-diner")
    done = {(r.shot, r.stage) for r in rows if r.status == "succeeded"}
    assert {("1A", "panel"), ("1A", "video"), ("1C", "video"), ("1C", "keyframe_gate")} <= done
    assert ("1C", "panel") not in done
    provider = video.split(":")[0]
    posted = [r["body"] for r in fakes.requests(provider) if r["method"] == "POST"
              and ("predictLongRunning" in r["path"] or "/predictions" in r["path"])]
    sent = [b.get("input") or b["instances"][0] for b in posted]
    with_refs = [s for s in sent if field in s]
    assert len(with_refs) == 1 and len(with_refs[0][field]) == 3   # gabe, jenny, the diner
    assert not {"image", "last_frame_image", "lastFrame"} & set(with_refs[0])
