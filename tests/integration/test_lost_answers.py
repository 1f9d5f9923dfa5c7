"""A lost answer, at every provider and stage: looked up where the API can, attached by a person
(`slate reconcile --job`) where it cannot, asked again once where nothing can be looked up — and
no request body paid for twice.

Each case drops the provider's answer after it did the work (the fake's `drop_after`: the job
or the generation is made and booked, then the connection closes), through a real Governor and
the providers' real modules over real HTTP. Counted where it lands: the jobs and generations the
fake made (by a fingerprint of the body it received), the ledger's rows.

  provider    stage       how the unknown outcome is resolved
  replicate   panel       found in its prediction list by what was asked (same run), followed
  replicate   video       found in its prediction list by what was asked (same run), followed
  fal         panel       unknown; `slate reconcile --job REQUEST_ID` → the next run follows it
  fal         video       unknown; `slate reconcile --job REQUEST_ID` → the next run follows it
  openrouter  video       unknown; `slate reconcile --job JOB_ID` → the next run follows it
  gemini      video (Veo) unknown; `slate reconcile --job OPERATION` → the next run follows it
  gemini      panel       generateContent keeps nothing to look up: asked again once, both written
  gemini      judge       the same (panel gate, keyframe gate, continuity, reference gate); a
                          second loss is not asked a third time (`slate reconcile --lost` lets it)
  local       all         its own book: found (or finished) by our call id, or proved never received
"""
from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from slate.governor.chokepoint import (Answer, AnswerLost, CallContext, CallSpec, Governor, UnknownOutcome, Usage)
from slate.governor.ledger import Cap, Ledger
from slate.governor.ratecard import RateCard
from slate.providers import fal, gemini, openrouter, replicate
from slate.providers.base import ClipRequest, ReferenceImages
from slate.providers.local import LocalImage, LocalVideo
from slate.providers.local_judge import LocalJudge
from slate.providers.local_verdicts import KeptJudge
from slate.providers.storage_local import LocalStorage
from slate.cli import app
from slate.tasks.gates.gate import verdict_answer

FILM = "night-diner"
ESTIMATE = Decimal("0.10")
VIDEO = {"replicate": "bytedance/seedance-1-lite", "fal": "fal-ai/bytedance/seedance/v1/lite/image-to-video",
         "openrouter": "bytedance/seedance-2.0-mini", "gemini": "veo-3.1-fast-generate-preview"}
PANEL = {"replicate": "bytedance/seedream-4", "fal": "fal-ai/flux-pro/kontext", "gemini": "gemini-2.5-flash-image"}
runner = CliRunner()


@pytest.fixture
def studio(painted, fakes):
    return SimpleNamespace(root=painted.root, storage=painted.storage, start=painted.drawn[0],
                           panels=painted.requests, fakes=fakes)


def gov(root: Path, run_id: str = "run-1") -> Governor:
    return Governor(run_id=run_id, film=FILM, root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units, model: ESTIMATE, storage=LocalStorage(root),
                    caps=[Cap("run", Decimal("10")), Cap("film", Decimal("100"))], poll_interval=0.02,
                    busy_poll=0.05, busy_wait=5.0, retry_wait_cap=0.5, failure_charge=RateCard.load().failure_charge)


def clip(st) -> ClipRequest:
    return ClipRequest(prompt="Nina crosses the wet street to the diner door.", start_uri=st.start, end_uri=None,
                       seconds=4.0, width=1280, height=720, fps=24, resolution="720p", movement="static",
                       camera_fixed=True, seed=7)


def ctx(g: Governor, stage: str, provider: str, model: str) -> CallContext:
    return CallContext(g.run_id, FILM, "scene-01", "1A", stage, 1, provider, model, "draft")


def make_clip(g: Governor, st, provider: str):
    module = {"replicate": replicate, "fal": fal, "openrouter": openrouter, "gemini": gemini}[provider]
    v = module.video(VIDEO[provider], storage=st.storage, base_url=st.fakes.url(provider))
    req = clip(st)
    spec = CallSpec(ctx(g, "video", provider, v.model), Usage("video", seconds=req.seconds, resolution=req.resolution),
                    req.fingerprint(), prompt=req.prompt, references=(req.start_uri,))
    return g.job_call(spec, submit=lambda ref: v.submit(req, client_ref=ref), poll=v.poll, download=v.download,
                      suffix="mp4", deadline=30, poll_interval=0.02,
                      find=lambda ref, since: v.find_job(ref, since, request=req), cancel=v.cancel)


def make_panel(g: Governor, st, provider: str):
    """A panel as tasks/shot/panel.py makes it: a job where the provider's panels are jobs, else one
    request (asked again once when its answer is lost)."""
    module = {"replicate": replicate, "fal": fal, "gemini": gemini}[provider]
    painter = module.image(PANEL[provider], storage=st.storage, base_url=st.fakes.url(provider))
    if hasattr(painter, "poll_interval"):
        painter.poll_interval = 0.02
    req = st.panels[0]
    spec = CallSpec(ctx(g, "panel", provider, painter.model), Usage("image", images=1), req.fingerprint(),
                    prompt=req.prompt)
    if hasattr(painter, "submit_panel"):
        return g.job_call(spec, submit=lambda ref: painter.submit_panel(req, client_ref=ref), poll=painter.poll,
                          download=lambda job, dest: painter.download_panel(job, dest, req.width, req.height),
                          suffix="png", deadline=30, poll_interval=0.02,
                          find=lambda ref, since: painter.find_job(ref, since, request=req), cancel=painter.cancel)
    return g.sync_call(spec, lambda ref: Answer(painter.generate_panel(req, client_ref=ref), "png"), repeatable=True)


def judge_panel(g: Governor, st, panel_uri: str, take: int = 1):
    """A panel-gate verdict through the Gemini judge, as tasks/gates/gate.py asks it."""
    judge = gemini.judge("gemini-2.5-flash", storage=st.storage, base_url=st.fakes.url("gemini"))
    req = st.panels[0]
    refs = ReferenceImages(plate=st.storage.open_local(req.plate_uri),
                           turnarounds={c.id: st.storage.open_local(c.turnaround_uri) for c in req.characters})
    spec = CallSpec(CallContext(g.run_id, FILM, "scene-01", "1A", "panel_gate", take, "gemini", judge.model, "draft"),
                    Usage("judge", input_tokens=4000, output_tokens=300), f"verdict-{panel_uri}-{take}",
                    prompt="judge panel 1A start")
    return g.sync_call(spec, lambda ref: verdict_answer(judge.judge_panel(st.storage.open_local(panel_uri), req, refs,
                                                                          client_ref=ref)), repeatable=True)


def rows(root: Path):
    return Ledger.for_project(root).rows(film=FILM)


def paid_twice(fakes, provider: str) -> list[str]:
    """Request bodies the fake made into more than one job or generation."""
    seen = Counter(j["fingerprint"] for j in fakes.jobs(provider))
    return [f for f, n in seen.items() if n > 1]


def reconcile(root: Path, *args: str):
    return runner.invoke(app, ["reconcile", str(root), *args])


# -- looked up by the API: Replicate's list ---------------------------------------------------------

@pytest.mark.parametrize("stage", ["panel", "video"])
def test_replicate_finds_a_lost_create_in_its_list_and_never_makes_a_second(studio, stage):
    studio.fakes.faults({"provider": "replicate", "op": "submit", "kind": "drop_after"})
    got = (make_panel if stage == "panel" else make_clip)(gov(studio.root), studio, "replicate")
    assert studio.storage.exists(got.uri)
    [row] = rows(studio.root)
    [made] = studio.fakes.jobs("replicate")
    assert (row.status, row.job_id) == ("succeeded", made["id"])
    assert paid_twice(studio.fakes, "replicate") == []


def test_a_replicate_panel_the_list_cannot_find_is_attached_by_reconcile_and_followed(studio):
    """When the lookup fails too (here its list answers 500), the panel is unknown, listed by
    `slate reconcile`, and its prediction attached by hand: the next run downloads and keeps it
    — a panel can be attached like a clip, and is never paid for twice."""
    studio.fakes.faults({"provider": "replicate", "op": "submit", "kind": "drop_after"},
                        {"provider": "replicate", "op": "list", "kind": "status", "status": 500, "times": 2})
    with pytest.raises(UnknownOutcome):
        make_panel(gov(studio.root), studio, "replicate")
    [row] = rows(studio.root)
    assert row.status == "unknown" and row.job_id is None
    listing = reconcile(studio.root)
    assert listing.exit_code == 1 and row.call_id in listing.output and "Predictions" in listing.output
    [made] = studio.fakes.jobs("replicate")
    done = reconcile(studio.root, "--call", row.call_id, "--job", made["id"])
    assert done.exit_code == 0, done.output
    got = make_panel(gov(studio.root, "run-2"), studio, "replicate")
    assert studio.storage.exists(got.uri)
    assert [r.status for r in rows(studio.root)] == ["succeeded"]
    assert len(studio.fakes.jobs("replicate")) == 1
    assert reconcile(studio.root).output.strip() == "nothing to reconcile"


# -- no lookup: a person attaches the job -------------------------------------------------------------

def _attach_and_follow(studio, provider: str, make, job_id_of) -> dict:
    """Lose the create's answer, run again (nothing found, nothing sent), attach the job the
    provider made with `slate reconcile --job`, run a third time. Returns where it landed: the
    ledger's statuses, the provider's creates, request bodies paid twice, the artifact kept."""
    with pytest.raises(UnknownOutcome) as lost:
        make(gov(studio.root), studio, provider)
    assert "--job" in str(lost.value)
    [row] = rows(studio.root)
    assert row.status == "unknown" and row.job_id is None
    with pytest.raises(UnknownOutcome):   # the next run cannot find it either: nothing is sent again
        make(gov(studio.root, "run-2"), studio, provider)
    [made] = [j for j in studio.fakes.jobs(provider) if j["op"] in ("submit", "video")]
    done = reconcile(studio.root, "--call", row.call_id, "--job", job_id_of(made))
    assert done.exit_code == 0, done.output
    got = make(gov(studio.root, "run-3"), studio, provider)
    return {"statuses": [r.status for r in rows(studio.root)],
            "creates": len([j for j in studio.fakes.jobs(provider) if j["op"] in ("submit", "video")]),
            "paid_twice": paid_twice(studio.fakes, provider),
            "kept": studio.storage.exists(got.uri)}


#: One create, followed to its end under the ledger's one row, its output kept, nothing paid twice.
FOLLOWED = {"statuses": ["succeeded"], "creates": 1, "paid_twice": [], "kept": True}


@pytest.mark.parametrize("provider,job_id_of", [
    ("fal", lambda made: made["id"]),                 # the request id fal's dashboard shows
    ("openrouter", lambda made: made["id"]),
    ("gemini", lambda made: f"models/{made['model']}/operations/{made['id']}"),  # the operation
], ids=["fal", "openrouter", "gemini-veo"])
def test_a_lost_clip_that_cannot_be_looked_up_is_attached_by_reconcile(studio, provider, job_id_of):
    studio.fakes.faults({"provider": provider, "op": "submit", "kind": "drop_after"})
    assert _attach_and_follow(studio, provider, make_clip, job_id_of) == FOLLOWED


def test_a_lost_fal_panel_is_attached_by_reconcile_like_a_clip(studio):
    studio.fakes.faults({"provider": "fal", "op": "submit", "kind": "drop_after"})
    assert _attach_and_follow(studio, "fal", make_panel, lambda made: made["id"]) == FOLLOWED


# -- one request, one answer, nothing to look up: asked again once -----------------------------------

def test_a_lost_gemini_panel_is_asked_again_once_and_both_are_written(studio):
    studio.fakes.faults({"provider": "gemini", "op": "generate", "kind": "drop_after"})
    got = make_panel(gov(studio.root), studio, "gemini")
    assert studio.storage.exists(got.uri)
    lost, note, kept = sorted(rows(studio.root), key=lambda r: r.status)
    assert (lost.status, lost.error_class, lost.actual_cost) == ("failed", "AnswerLost", ESTIMATE)
    assert kept.status == "succeeded" and kept.parameters["asked_again_for"] == lost.call_id
    assert note.error_class == "AskedAgain" and note.actual_cost == 0 and lost.call_id in note.error_message
    assert "$0.10" in note.error_message   # what it cost is written
    generations = [j for j in studio.fakes.jobs("gemini") if j["op"] == "generate"]
    assert len(generations) == 2 and len({g["fingerprint"] for g in generations}) == 1   # the one ask again
    assert Ledger.for_project(studio.root).open_intents(film=FILM) == []


def test_a_lost_verdict_is_asked_again_once_and_a_second_loss_is_not_asked_a_third_time(studio):
    studio.fakes.faults({"provider": "gemini", "op": "judge", "kind": "drop_after", "times": 2})
    with pytest.raises(AnswerLost) as twice:
        judge_panel(gov(studio.root), studio, studio.start)
    assert "--lost" in str(twice.value)
    judged = [j for j in studio.fakes.jobs("gemini") if j["op"] == "judge"]
    assert len(judged) == 2   # asked once more, never a third time
    statuses = sorted((r.status, r.error_class or "") for r in rows(studio.root))
    assert statuses == [("failed", "AnswerLost"), ("unknown", "")]
    with pytest.raises(AnswerLost):   # the next run does not ask a third time by itself either
        judge_panel(gov(studio.root, "run-2"), studio, studio.start)
    assert len([j for j in studio.fakes.jobs("gemini") if j["op"] == "judge"]) == 2
    [unknown] = [r for r in rows(studio.root) if r.status == "unknown"]
    listing = reconcile(studio.root)
    assert unknown.call_id in listing.output and "--lost" in listing.output
    assert reconcile(studio.root, "--call", unknown.call_id, "--job", "x").exit_code == 2   # no job to attach
    assert reconcile(studio.root, "--call", unknown.call_id, "--lost").exit_code == 0
    got = judge_panel(gov(studio.root, "run-3"), studio, studio.start)   # a person let it ask once more
    assert studio.storage.exists(got.uri)
    assert len([j for j in studio.fakes.jobs("gemini") if j["op"] == "judge"]) == 3
    assert Ledger.for_project(studio.root).open_intents(film=FILM) == []


# -- the local provider: its own book -----------------------------------------------------------------

def test_the_local_painter_finishes_a_received_panel_and_sends_one_it_never_received(studio, local_calls):
    painter = LocalImage(studio.storage)
    req = studio.panels[0]

    class Died(BaseException):
        pass

    class DiesDrawing(LocalImage):   # the request is received (booked), then the process dies drawing it
        def _draw_png(self, request, force_fault):
            raise Died()

    dying = DiesDrawing(studio.storage)

    spec = CallSpec(CallContext("run-1", FILM, "scene-01", "1A", "panel", 1, "local", painter.model, "draft"),
                    Usage("image", images=1), req.fingerprint())
    with pytest.raises(Died):
        gov(studio.root).sync_call(spec, lambda ref: Answer(dying.generate_panel(req, client_ref=ref), "png"),
                                   recover=lambda ref: Answer(painter.recover(ref), "png"))
    asked = []
    got = gov(studio.root, "run-2").sync_call(spec, lambda ref: asked.append(ref) or Answer(b"x", "png"),
                                              recover=lambda ref: Answer(painter.recover(ref), "png"))
    assert asked == [] and studio.storage.get_bytes(got.uri) == painter.generate_panel(req)   # finished, not re-sent
    [row] = [r for r in rows(studio.root)]
    assert row.status == "succeeded"

    other = CallSpec(CallContext("run-1", FILM, "scene-01", "1B", "panel", 1, "local", painter.model, "draft"),
                     Usage("image", images=1), "fp-never-received")
    with pytest.raises(Died):   # dies before the request reached the painter
        gov(studio.root).sync_call(other, lambda ref: (_ for _ in ()).throw(Died()),
                                   recover=lambda ref: Answer(painter.recover(ref), "png"))
    sent = []
    gov(studio.root, "run-2").sync_call(other, lambda ref: sent.append(ref) or Answer(b"png", "png"),
                                        recover=lambda ref: Answer(painter.recover(ref), "png"))
    never = [r for r in rows(studio.root) if r.shot == "1B"]
    assert len(sent) == 1 and [r.status for r in never] == ["succeeded"]   # sent once, under the same row
    assert sent == [never[0].call_id]


def test_the_local_judge_keeps_its_verdicts_and_finishes_one_a_dead_run_was_given(studio, tmp_path):
    judge = KeptJudge(LocalJudge(book=tmp_path / "judgements.jsonl"), tmp_path / "verdicts")
    req = studio.panels[0]
    panel = studio.storage.open_local(studio.start)
    refs = ReferenceImages(plate=studio.storage.open_local(req.plate_uri),
                           turnarounds={c.id: studio.storage.open_local(c.turnaround_uri) for c in req.characters})
    given = judge.judge_panel(panel, req, refs, client_ref="call-1")
    assert judge.recover("call-1") == given
    judge._kept("call-1").unlink()     # as if the process died after booking, before keeping
    assert judge.recover("call-1") == given
    assert [j["client_ref"] for j in judge.judgements()] == ["call-1"]   # judged once in its book
    from slate.providers.errors import NotReceived
    with pytest.raises(NotReceived):
        judge.recover("call-never")


def test_a_local_video_never_received_is_sent_under_the_same_row(studio, local_calls):
    v = LocalVideo(studio.storage)
    req = clip(studio)

    class Died(BaseException):
        pass

    spec = CallSpec(CallContext("run-1", FILM, "scene-01", "1A", "video", 1, "local", v.model, "draft"),
                    Usage("video", seconds=req.seconds, resolution=req.resolution), req.fingerprint())
    with pytest.raises(Died):
        gov(studio.root).job_call(spec, submit=lambda ref: (_ for _ in ()).throw(Died()), poll=v.poll,
                                  download=v.download, suffix="mp4", deadline=30, find=v.find_job)
    got = gov(studio.root, "run-2").job_call(spec, submit=lambda ref: v.submit(req, client_ref=ref), poll=v.poll,
                                             download=v.download, suffix="mp4", deadline=30, find=v.find_job)
    assert studio.storage.exists(got.uri)
    assert [r.status for r in rows(studio.root)] == ["succeeded"] and len(v.submissions()) == 1
