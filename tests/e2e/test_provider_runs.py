"""Real `slate run`s of the example scene against the fake providers: every provider, a mixed
lineup, and the faults whose action is wiring — a fallback across two vendors, a halt and the same
command resuming, fal's reconcile, a stuck clip's slot, a person's approval — each failure turned
into the right action, never a second payment. The faults one clip meets on its own (rate limits,
429s and timeouts while polling, an unusable clip, a refusal with no fallback, a lost submit found
in Replicate's list, a panel prompt Gemini blocks, OpenRouter's key limit) are met where they live, on one shot in process:
tests/integration/test_vendor_faults.py.

Each run is the command line in process (typer's CliRunner) on the session's Prefect test server,
with the fake providers' server (tests/fakes) standing in for the vendors over real HTTP. What
is asserted is counted where it lands: the state the run ends in, the ledger's rows (their
status, error class and cost against the rate card), and the jobs the fake providers created —
no request is ever made into two jobs.
"""
from __future__ import annotations

from collections import Counter

import pytest
import yaml
from typer.testing import CliRunner

from slate.governor.chokepoint import Usage
from slate.governor.ledger import Ledger
from slate.governor.ratecard import RateCard
from slate.manifests import load_film
from slate.providers.registry import CATALOGUE
from slate.providers.storage_local import LocalStorage
from slate.cli import app
from tests.scene_cuts import keep_shots, without_finishing

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()
FILM = "night-diner"
LITE = "replicate:bytedance/seedance-1-lite"
FAL_LITE = "fal:fal-ai/bytedance/seedance/v1/lite/image-to-video"
VEO = "gemini:veo-3.1-generate-preview"
MIX = ["--panel-model", "gemini", "--judge", "gemini", "--video-model", LITE]


@pytest.fixture(autouse=True)
def jobs_made(request, fake_server):
    """Print, after each run, the jobs the fake providers created and the ledger's rows by status."""
    yield
    made = Counter(f"{j['provider']}:{j['op']}" for j in fake_server.jobs())
    print(f"\nfault table: {request.node.name}: jobs created {dict(made)}")


def two_shots(root, ids=("1A", "1C")):
    """Two shots of the example, without its finishing pass: these runs are about providers; the
    finishing tests and the example's own renders hold the finished cut."""
    without_finishing(root)
    return [s["id"] for s in keep_shots(root, ids)]


def fal_composites(root, shots):
    """Each shot's panel as a person's composite, for fal: FLUX Kontext edits one picture and
    draws the named characters from the prompt's words; the fake only frames the picture it is
    given. Without figures in that picture its clip has nobody in it, and the keyframe gate's
    presence check escalates the shot (as it must for a real model that drew no one). The
    composite is the local painter's drawing of the shot, which a person would paint over."""
    import dataclasses

    from slate.providers.local import LocalImage
    from slate.tasks.shot.plan import plan_from_project
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    (root / "overrides").mkdir(exist_ok=True)
    plans = {p.shot: p for p in plan_from_project(load_film(root), "scene-01", "draft", 24)}
    for shot in doc["shots"]:
        if shot["id"] in shots:
            request = dataclasses.replace(plans[shot["id"]].panel_request("start", 1), override_uri=None)
            (root / "overrides" / f"{shot['id']}.png").write_bytes(LocalImage(LocalStorage(root)).generate_panel(request))
            shot["panel_override"] = f"overrides/{shot['id']}.png"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def run(root, *args):
    return runner.invoke(app, ["run", str(root), *args])


def live_table(output: str) -> dict[str, tuple[str, str]]:
    """The live table's last frame, as `slate run` printed it: shot -> (panel, video)."""
    cells = [[c.strip() for c in line.strip().strip("│").split("│")] for line in output.splitlines()
             if line.startswith("│")]
    return {c[0]: (c[1], c[2]) for c in cells if len(c) == 3}


def rows(root, stage=None):
    return [r for r in Ledger.for_project(root).rows(film=FILM) if stage is None or r.stage == stage]


VIDEO_MODELS = {m for offer in CATALOGUE.values() for m in offer.get("video", {}).get("models", ())}


def never_twice(fakes, provider=None, videos_only=True):
    """No request made into two jobs at the fakes (a job per fingerprint); how many video jobs."""
    jobs = fakes.jobs(provider)
    seen = Counter(j["fingerprint"] for j in jobs)
    assert not [f for f, n in seen.items() if n > 1], seen
    return len({j["fingerprint"] for j in jobs if not videos_only or j["model"] in VIDEO_MODELS})


def priced_from_the_card(root):
    card = RateCard.load(root)
    film = load_film(root)
    for r in rows(root):
        if r.status != "succeeded":
            continue
        key = f"{r.provider}:{r.model}"
        if r.stage == "video":
            shot = film.scene(r.scene).shot(r.shot)
            assert r.actual_cost == card.price(key, Usage("video", seconds=shot.duration,
                                                            resolution=r.parameters["resolution"])), r
        elif r.stage == "panel":
            assert r.actual_cost == card.price(key, Usage("image", images=1)), r


# -- every provider, and the mix ---------------------------------------------------------------

@pytest.mark.parametrize("args,video_provider", [
    (["--provider", "replicate"], "replicate"),
    (["--provider", "fal"], "fal"),
    (MIX, "replicate"),
], ids=["replicate", "fal", "gemini-panels-and-judge-with-seedance-on-replicate"])
def test_a_scene_renders_through_real_providers(example_film, fakes, args, video_provider):
    shots = two_shots(example_film)
    if args[:2] == ["--provider", "fal"]:
        fal_composites(example_film, shots)
    out = run(example_film, *args)
    assert out.exit_code == 0 and "state: Completed" in out.output, out.output[-3000:]
    succeeded = {(r.stage, r.provider) for r in rows(example_film) if r.status == "succeeded"}
    assert ("video", video_provider) in succeeded and ("panel_gate", "gemini") in succeeded
    assert len([r for r in rows(example_film, "video") if r.status == "succeeded"]) == len(shots)
    assert never_twice(fakes, video_provider) == len(shots)
    priced_from_the_card(example_film)
    again = run(example_film, *args)  # a finished scene costs nothing the second time
    assert "provider calls made: 0" in again.output and never_twice(fakes, video_provider) == len(shots)


def _cut_verdicts(root) -> list[dict]:
    """Every continuity verdict the run kept as a task result (.slate/results), as held to the policy."""
    import json
    found = []

    def walk(x):
        if isinstance(x, dict):
            if "previous" in x and "scores" in x and "first_frame" in x:
                found.append(x)
                return
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, str) and x.startswith("{"):
            try:
                walk(json.loads(x))
            except ValueError:
                pass
    for path in (root / ".slate" / "results").iterdir():
        try:
            walk(json.loads(path.read_text()))
        except (ValueError, UnicodeDecodeError):
            continue
    return found


def test_a_vision_judge_reads_the_cut_and_the_colours_only_warn_beside_it(example_film, fakes):
    """1C -> 1D (the diner, the same two people) through the Gemini judge: the cut is one paid
    continuity call, its scores block, and slate's own colour measure is reported beside them
    as a warning (a grade moves a histogram, not a face)."""
    two_shots(example_film, ("1C", "1D"))
    out = run(example_film, *MIX)
    assert out.exit_code == 0 and "state: Completed" in out.output, out.output[-3000:]
    paid = [r for r in rows(example_film, "continuity") if r.status == "succeeded"]
    assert [(r.provider, r.shot) for r in paid] == [("gemini", "1D")]
    [cut] = _cut_verdicts(example_film)
    roles = {s["name"]: s["role"] for s in cut["scores"]}
    assert roles.pop("palette") == "warn" and roles, cut["scores"]
    # The continuity ledger's items, answered one by one (providers/rubric.py), warn until a vision
    # judge is measured on them; the cut's people and place block.
    ledger = {name: roles.pop(name) for name in ("props", "blocking", "light") if name in roles}
    assert ledger and set(ledger.values()) == {"warn"}, cut["scores"]
    assert roles and set(roles.values()) == {"block"}, cut["scores"]


# -- the fault table: the rows that need a run -------------------------------------------------------------------------

def test_a_refused_clip_goes_to_the_fallback_model_and_the_switch_is_written(example_film, fakes):
    """The wiring of a fallback across two vendors in a run: the refused shot is made on fal, the
    next shot starts on the lineup's first model again (the rule itself, on one shot:
    tests/integration/test_vendor_faults.py)."""
    shots = two_shots(example_film)
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "moderation"})
    out = run(example_film, *MIX[:4], "--video-model", f"{LITE},{FAL_LITE}")
    assert "state: Completed" in out.output, out.output[-3000:]
    refused = [r for r in rows(example_film, "video") if r.error_class == "RefusedByModeration"]
    [switch] = [r for r in rows(example_film) if r.error_class == "FallbackSwitch"]
    assert len(refused) == 1 and "(E005)" in refused[0].error_message and switch.actual_cost == 0
    assert switch.shot == refused[0].shot and "switched" in switch.error_message
    assert never_twice(fakes, "replicate") == len(shots) and never_twice(fakes, "fal") == 1


@pytest.mark.parametrize("status,body,cls", [
    (402, {"title": "Insufficient credit", "detail": "You have insufficient credit to run this model."}, "OutOfCredit"),
    (401, {"title": "Unauthenticated", "detail": "You did not pass a valid authentication token", "status": 401},
     "AuthenticationFailed"),
])
def test_no_credit_or_a_bad_key_halts_at_once_and_the_same_command_resumes(example_film, fakes, status, body, cls):
    shots = two_shots(example_film)
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "status", "status": status, "body": body,
                  "times": 1})
    halted = run(example_film, *MIX)
    assert halted.exit_code == 1 and "state: Halted" in halted.output, halted.output[-3000:]
    assert "replicate" in halted.output and ("top up" in halted.output or "check the key" in halted.output)
    assert [r.error_class for r in rows(example_film, "video") if r.status == "failed"] == [cls]
    assert len(fakes.jobs("replicate")) == 0
    resumed = run(example_film, *MIX)  # after the top-up: the same command
    assert "state: Completed" in resumed.output, resumed.output[-3000:]
    assert never_twice(fakes, "replicate") == len(shots)
    assert Counter(r.request_key for r in rows(example_film) if r.status == "succeeded").most_common(1)[0][1] == 1


def test_a_fal_submit_whose_answer_was_lost_is_reconciled_never_resubmitted(example_film, fakes):
    """fal cannot look a request up: the shot halts, every run after it halts on it without
    sending anything, until the person attaches the request id from fal's dashboard."""
    shots = two_shots(example_film)
    fal_composites(example_film, shots)
    fakes.faults({"provider": "fal", "op": "submit", "kind": "drop_after", "model": FAL_LITE.split(":", 1)[1]})
    first = run(example_film, "--provider", "fal", "--judge", "gemini")
    assert "state: Halted" in first.output and "unknown outcome" in first.output, first.output[-3000:]
    assert "--job" in first.output and "Run again to look for it" not in first.output
    [lost] = [r for r in rows(example_film, "video") if r.status == "unknown"]
    listing = runner.invoke(app, ["reconcile", str(example_film)])
    assert listing.exit_code == 1 and lost.call_id in listing.output and "fal's dashboard" in listing.output
    again = run(example_film, "--provider", "fal", "--judge", "gemini")  # without a job id nothing is sent for it
    assert "state: Halted" in again.output
    # The film-maker finds the request in fal's dashboard: the first video request made.
    job_id = next(j["id"] for j in fakes.jobs("fal") if j["model"] == FAL_LITE.split(":", 1)[1])
    assert runner.invoke(app, ["reconcile", str(example_film), "--call", lost.call_id, "--job", job_id]).exit_code == 0
    done = run(example_film, "--provider", "fal", "--judge", "gemini")
    assert "state: Completed" in done.output, done.output[-3000:]
    assert never_twice(fakes, "fal") == len(shots)
    assert next(r for r in rows(example_film) if r.call_id == lost.call_id).status == "succeeded"


def test_a_lost_reference_gate_verdict_never_fails_the_film_and_is_asked_again_once_written(example_film, fakes):
    """The answer to a Gemini reference-gate verdict was lost: the whole film failed at once, and
    the next run asked the same question again unseen. Now it is asked again once, in the open:
    the lost call counted as spent, the second one's cost written, the film finishes."""
    two_shots(example_film)
    fakes.faults({"provider": "gemini", "op": "judge", "kind": "drop_after", "contains": "TURNAROUND sheet"})
    out = run(example_film, *MIX)
    assert "state: Completed" in out.output, out.output[-3000:]
    assert "asked again once:" in out.output, out.output[-3000:]
    refs = [r for r in rows(example_film, "reference_gate")]
    [lost] = [r for r in refs if r.status == "failed"]
    assert lost.error_class == "AnswerLost" and lost.actual_cost == lost.estimate > 0
    [notes] = [r for r in rows(example_film) if r.error_class == "AskedAgain"]
    assert lost.call_id in notes.error_message and lost.shot in notes.error_message
    turnaround = [j for j in fakes.jobs("gemini") if j["op"] == "judge"]
    asked = Counter(j["fingerprint"] for j in turnaround)
    assert sorted(asked.values())[-1] == 2 and list(asked.values()).count(2) == 1   # one body asked twice: the lost one
    again = run(example_film, *MIX)
    assert "provider calls made: 0" in again.output, again.output[-3000:]
    assert Counter(j["fingerprint"] for j in fakes.jobs("gemini") if j["op"] == "judge") == asked


OR_MINI = "openrouter:bytedance/seedance-2.0-mini"
KEY_LIMIT = {"error": {"code": 403, "message": "Key limit exceeded (total limit). Manage it using "
                                              "https://openrouter.ai/settings/keys"}}
OUT_OF_PREPAY = {"error": {"code": 402, "message": "Your prepayment credits are depleted (fake's words)",
                           "status": "FAILED_PRECONDITION"}}


@pytest.mark.parametrize("fault", [
    # the second clip meets the key's limit, after panels, verdicts and a clip were paid
    {"provider": "openrouter", "op": "submit", "kind": "status", "status": 403, "every": 2, "body": KEY_LIMIT},
    # the judge's credit runs out at the second reference verdict: the scene never gets to its shots
    {"provider": "gemini", "op": "judge", "kind": "status", "status": 402, "every": 2, "body": OUT_OF_PREPAY,
     "contains": "TURNAROUND sheet"},
], ids=["key-limit-at-the-second-clip", "credit-out-at-the-second-reference-verdict"])
def test_a_halted_run_prints_what_the_ledger_says_it_spent(example_film, fakes, fault):
    """A run halted by a key limit printed "spent this run: $0.00" and "provider calls made: 0"
    while the ledger held the run's paid rows: the figures are the ledger's for the run, whatever
    state it ended in — reference verdicts (film-wide rows) and a scene that ended without a
    result included."""
    from slate.governor.money import fmt_usd
    two_shots(example_film, ("1A", "1B", "1C"))
    fakes.faults(fault)
    out = run(example_film, "--panel-model", "gemini", "--judge", "gemini", "--video-model", OR_MINI)
    assert out.exit_code == 1 and "state: Halted" in out.output, out.output[-3000:]
    ledger = Ledger.for_project(example_film)
    [run_id] = {r.run_id for r in ledger.rows(film=FILM)}
    made = [r for r in ledger.rows(film=FILM, run_id=run_id) if r.status not in ("refused", "released")]
    spent = ledger.totals(film=FILM, run_id=run_id).committed
    assert spent > 0 and [r for r in made if r.status == "succeeded"]
    assert f"spent this run: {fmt_usd(spent)}" in out.output, (fmt_usd(spent), out.output[-3000:])
    assert f"provider calls made: {len(made)}" in out.output, (len(made), out.output[-3000:])
    refused = {r.shot for r in made if r.stage == "video" and r.status == "failed"}
    if refused:   # the live table shows each shot's last state: the refused shot halted, not "rendering take 1"
        table = live_table(out.output)
        assert {table[shot][1] for shot in refused} == {"halted"}, out.output[-3000:]
        assert not [row for row in table.values() if row[1].startswith(("rendering", "drawing"))], out.output[-3000:]


def test_a_refused_panel_says_what_was_refused_and_offers_its_words_to_the_lint(example_film, fakes):
    """A moderation refusal of a panel escalates at once (it is never sent again unchanged): the
    provider's own words, the prompt and the references sent are shown, and the words only that
    prompt had are offered to the film's prompt_rules.toml — after which `slate check` warns."""
    two_shots(example_film)
    fakes.faults({"provider": "gemini", "op": "generate", "kind": "moderation", "data": {"reason": "PROHIBITED_CONTENT"}})
    out = run(example_film, *MIX)
    assert "state: Escalated" in out.output, out.output[-3000:]
    [refused] = [r for r in rows(example_film, "panel") if r.status == "failed"]
    shown = runner.invoke(app, ["escalations", str(example_film)])
    assert shown.exit_code == 0, shown.output
    assert f"refused by gemini:{refused.model}" in shown.output and "PROHIBITED_CONTENT" in shown.output
    assert refused.prompt.splitlines()[0] in shown.output
    plate = LocalStorage(example_film).open_local(refused.reference_hashes[0])
    assert f"reference sent: {plate}" in shown.output
    offered = shown.output.split("words only the refused prompt had (no accepted prompt of the film used them): ")[1]
    words = offered.splitlines()[0].split(", ")
    assert words and all(w in refused.prompt.lower() for w in words)
    kept = runner.invoke(app, ["escalations", str(example_film), "--warn-words", words[0]])
    assert kept.exit_code == 0 and words[0] in (example_film / "prompt_rules.toml").read_text()
    checked = runner.invoke(app, ["check", str(example_film), "--panel-model", "gemini"])
    assert "refused-in-this-film" in checked.output and words[0] in checked.output, checked.output[-3000:]


def test_a_clip_job_that_never_finishes_is_cancelled_its_shot_escalated_and_the_film_goes_on(example_film, fakes):
    """A Replicate prediction that never finished was polled for the video deadline's 30 minutes,
    uncancelled, while every later shot waited for the key's video slot. With the model given a
    few seconds in slate.toml (3 s: its deadline three times that), the stuck clip is cancelled
    at the provider — one cancel request, in the fake's book — and its shot escalated naming the
    job and the time waited; the other shot renders, the run ends as a run with an escalated shot
    does, and nothing is left open."""
    import time
    shots = two_shots(example_film)
    with open(example_film / "slate.toml", "a") as f:
        f.write(f'\n[job_seconds]\n"{LITE}" = 3\n')
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "stuck", "model": LITE.split(":", 1)[1]})
    started = time.monotonic()
    out = run(example_film, *MIX)
    took = time.monotonic() - started
    assert out.exit_code == 0 and "state: Escalated" in out.output, out.output[-3000:]
    [stuck] = [r for r in rows(example_film, "video") if r.status != "succeeded"]
    assert (stuck.status, stuck.error_class) == ("failed", "JobStuck") and stuck.job_id, stuck
    waited = (stuck.finished_at - stuck.submitted_at).total_seconds()
    assert 9 <= waited <= 9 + 60, waited                           # its deadline, plus at most a minute
    [cancel] = fakes.cancels("replicate")                          # exactly one cancel, where it lands
    assert cancel["id"] == stuck.job_id and cancel["outcome"] == "canceled"
    said = next(line for line in out.output.splitlines() if f"scene-01/{stuck.shot}:" in line)
    assert stuck.job_id in said and "stuck" in said and "gave no result in" in said, said
    # The summary says it again where a person reads the night (issue 56 item 8).
    [summary] = [line for line in out.output.splitlines() if line.startswith("stuck: ")]
    assert summary.startswith(f"stuck: scene-01/{stuck.shot} video take 1: ") and stuck.job_id in summary, summary
    others = [s for s in shots if s != stuck.shot]
    rendered = [r for r in rows(example_film, "video") if r.status == "succeeded"]
    assert sorted(r.shot for r in rendered) == others
    # One video slot per key: the other clip was sent once the stuck one gave its slot back.
    assert all(r.submitted_at >= stuck.finished_at for r in rendered), (stuck, rendered)
    assert runner.invoke(app, ["reconcile", str(example_film)]).output.strip() == "nothing to reconcile"
    print(f"stuck clip: run took {took:.0f} s, the stuck job {waited:.0f} s")


# -- money gates before and between paid calls ---------------------------------------------------

def test_a_costly_fallback_waits_for_a_person_and_goes_on_when_approved(example_film, fakes):
    shots = two_shots(example_film)
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "moderation"})
    lineup = [*MIX[:4], "--video-model", f"{LITE},{VEO}", "--cap", "5"]
    held = run(example_film, *lineup)
    assert held.exit_code == 1 and "state: Halted" in held.output, held.output[-3000:]
    assert f"--approve-fallback {VEO}" in held.output
    assert [r.error_class for r in rows(example_film) if r.error_class and r.error_class.startswith("Fallback")] == \
        ["FallbackHeld"]
    assert [j for j in fakes.jobs("gemini") if j["op"] == "submit"] == []  # no Veo job before a person said yes
    approved = run(example_film, *lineup, "--approve-fallback", VEO)
    assert "state: Completed" in approved.output, approved.output[-3000:]
    assert [r.error_class for r in rows(example_film) if r.error_class and r.error_class.startswith("Fallback")] == \
        ["FallbackHeld", "FallbackSwitch"]
    assert never_twice(fakes, "replicate") == len(shots)  # the refused request was not sent again
    assert len([j for j in fakes.jobs("gemini") if j["op"] == "submit"]) == 1


def test_a_run_past_what_its_openrouter_key_has_left_is_refused_before_spending(example_film, fakes):
    two_shots(example_film)
    fakes.keys({"openrouter": {"label": "sk-or-v1-fak...", "limit": 1, "limit_remaining": 0.01, "usage": 0.99}})
    out = run(example_film, "--provider", "openrouter")
    assert out.exit_code == 1 and "Refused" in out.output, out.output[-3000:]
    assert "$0.01 left" in out.output and "estimated at" in out.output
    assert rows(example_film) == [] and fakes.jobs("openrouter") == []


# -- a hosted lip-sync on the video model's own size (issue 56 item 7) --------------------------------

def test_a_hosted_lipsync_is_held_to_the_clip_the_video_model_made_and_both_talking_shots_are_synced(
        example_film, fakes):
    """Seedance answers 852x480 for 480p (the fake's "sized": a model whose sizes are multiples of
    its block), which the keyframe gate accepts. Every hosted lip-sync was then held to the plan's
    854x480, its answer refused as BadOutput, and the run ended Failed with no cut. Held to the clip
    it was sent, the example's two talking shots (1D, 1F) are each one prediction of sync/lipsync-2,
    synced at the clip's own size, passed by the sync gate and cut; a second run makes nothing."""
    from slate.media import probe
    from slate.tasks.shot.lipsync import synced_shots
    keep = ("1D", "1F")
    for path in (example_film / "film.yaml", example_film / "scenes" / "scene-01.yaml"):
        doc = yaml.safe_load(path.read_text())   # no finishing pass: the cut is the stitch; the lines stay
        if doc.pop("finishing", None) is not None:
            path.write_text(yaml.safe_dump(doc, sort_keys=False))
    keep_shots(example_film, keep)
    talking = synced_shots(load_film(example_film), "scene-01")
    assert talking == ["1D", "1F"]
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "sized", "model": LITE.split(":", 1)[1],
                  "times": 99, "data": {"size": [852, 480]}})
    args = ("--video-model", LITE, "--lipsync-model", "replicate:sync/lipsync-2")
    out = run(example_film, *args)
    assert out.exit_code == 0 and "state: Completed" in out.output, out.output[-3000:]
    syncs = [j for j in fakes.jobs("replicate") if j["model"] == "sync/lipsync-2"]
    assert len(syncs) == len(talking) and never_twice(fakes, "replicate") == len(keep)
    synced = [r for r in rows(example_film, "lipsync") if r.status == "succeeded"]
    assert sorted(r.shot for r in synced) == talking, rows(example_film, "lipsync")
    storage = LocalStorage(example_film)
    for r in synced:
        got = probe(storage.open_local(r.artifact_uri))
        assert (got.width, got.height) == (852, 480), (r.shot, got)
    gates = {r.shot: r.error_class for r in rows(example_film, "sync_gate")}
    assert gates == {s: "SyncGatePassed" for s in talking}, rows(example_film, "sync_gate")
    assert {r.shot for r in rows(example_film, "video") if r.status == "succeeded"} == set(keep)
    assert list((example_film / "renders").rglob("scene-01*.mp4")), out.output[-2000:]
    again = run(example_film, *args)
    assert "provider calls made: 0" in again.output and len(fakes.jobs("replicate")) == len(keep) + len(talking)
