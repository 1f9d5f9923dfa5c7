"""One shot at the fake vendors: each fault of their protocols met where it lives.

The fault table's rows one shot meets on its own (issue 55 item 7): the clip stage of one shot of
the example (1A), entered as a scene enters it (`shoot_video`; the panel's, `shoot_panels`), with
the real Replicate and Gemini clients speaking to the fake providers' server over real HTTP, a
real governor and a real ledger — no scene rendered, no panel drawn by a vendor, no `slate run`.
What is asserted is counted where it lands: the shot's outcome, the ledger's rows (status, error
class, cost), and the jobs and requests the fake server was given — no request is ever made into
two jobs. The whole runs that remain in tests/e2e/test_provider_runs.py are the wiring: every
provider through a scene, a fallback across two vendors, a halt and the same command resuming,
fal's reconcile, the stuck clip's slot.
"""
from __future__ import annotations

from collections import Counter

import pytest

from tests.one_shot import on_one_shot

pytestmark = pytest.mark.usefixtures("prefect_harness")
SHOT = "1A"
LITE = "replicate:bytedance/seedance-1-lite"
FAL_LITE = "fal:fal-ai/bytedance/seedance/v1/lite/image-to-video"


def _clip(root, *, calls: int = 1, video_model: str = LITE):
    """Shoot 1A's clip on Seedance at the fake Replicate (or the lineup `video_model`) `calls`
    times, each a run of its own: (the last outcome, what the run said of the clip's moves, the
    clip's ledger rows)."""
    from slate.flows.shot.shot import PanelOutcome, shoot_video
    from slate.governor.ledger import Ledger
    from slate.tasks.run.events import ShotMoved
    from slate.tasks.run.run import listen

    told = {"video_model": video_model, "max_takes": 3, "run_cap_usd": "50", "film_cap_usd": "100"}
    heard: list = []
    stop = listen(heard.append)
    try:
        for _ in range(calls):
            outcome = on_one_shot(root, SHOT, told, lambda run, plan, made: shoot_video.fn(
                run, plan, PanelOutcome(shot=SHOT, approved={"start": made.panel_uri})), fps=24)
    finally:
        stop()
    moved = [e for e in heard if isinstance(e, ShotMoved) and e.stage == "video"]
    return outcome, moved, [r for r in Ledger.for_project(root).rows() if r.stage == "video"]


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    """Poll the fake every 0.3 s, not every 5 s: Replicate's own GETs are limited (3000/min), the
    fake's are not, and what is tested is which job is polled and what each answer does, not how
    often (the rule that a job is polled ten times within its deadline stays the chokepoint's)."""
    from slate.providers.replicate import ReplicateVideo
    monkeypatch.setattr(ReplicateVideo, "poll_interval", 0.3)


def _one_job_each(fakes) -> int:
    """No request made into two jobs at the fake Replicate (a job per fingerprint); how many jobs."""
    seen = Counter(j["fingerprint"] for j in fakes.jobs("replicate"))
    assert not [f for f, n in seen.items() if n > 1], seen
    return len(seen)


def test_rate_limited_submits_wait_and_are_sent_again(example_film, fakes):
    """Two 429s on the submit (`Retry-After: 0.2`): each a row that cost nothing, then one job."""
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "status", "status": 429, "times": 2,
                  "body": {"detail": "Request was throttled.", "status": 429}, "headers": {"Retry-After": "0.2"}})
    outcome, _, rows = _clip(example_film)
    assert outcome.clip_uri and not outcome.escalated and not outcome.halted, (outcome.escalated, outcome.halted)
    limited = [r for r in rows if r.error_class == "RateLimited"]
    assert len(limited) == 2 and all(r.actual_cost == 0 for r in limited), rows
    assert [r.status for r in rows if r.error_class != "RateLimited"] == ["succeeded"]
    assert _one_job_each(fakes) == 1


def test_a_429_now_and_then_while_polling_never_hangs_the_clip(example_film, fakes):
    """Replicate answering 429 on every third GET of a job (`Retry-After: 1`) hung a run for 15
    minutes, silent, its job `submitted`: the clip waits as asked and is made, from its one job."""
    fakes.faults({"provider": "replicate", "op": "poll", "kind": "status", "status": 429, "every": 3, "times": 50,
                  "headers": {"Retry-After": "1"}},
                 {"provider": "replicate", "op": "poll", "kind": "busy", "times": 3})   # the 6th GET: the download's
    outcome, _, rows = _clip(example_film)
    assert outcome.clip_uri and [r.status for r in rows] == ["succeeded"], (outcome.escalated, rows)
    assert _one_job_each(fakes) == 1
    gets = [r for r in fakes.requests("replicate") if r["method"] == "GET"]
    assert len(gets) >= 3, gets     # the 429s were met: three GETs at least, one of them throttled


def test_timeouts_while_polling_keep_polling_the_same_job(example_film, fakes):
    """Two 504s while polling, then a job still running three times: the same job is polled to its end."""
    fakes.faults({"provider": "replicate", "op": "poll", "kind": "status", "status": 504, "times": 2},
                 {"provider": "replicate", "op": "poll", "kind": "busy", "times": 3})
    outcome, _, rows = _clip(example_film)
    assert outcome.clip_uri and [r.status for r in rows] == ["succeeded"], (outcome.escalated, rows)
    assert _one_job_each(fakes) == 1
    polls = [r for r in fakes.requests("replicate") if r["method"] == "GET" and "/predictions/" in r["path"]]
    assert len(polls) >= 2 + 3 + 1, polls      # the two timeouts, the three busy answers, the one that ended it


def test_an_unusable_clip_is_a_failed_take_said_with_its_cause_and_made_again(example_film, fakes):
    """Issue 35: a clip the provider ran and billed but whose file comes cut short (on every fetch)
    is a failed take — said as it happens with its cause, counted as spent, and retaken within
    the take policy — not a shot stopped by an error."""
    fakes.faults({"provider": "replicate", "op": "download", "kind": "truncated"})   # the first clip's file
    outcome, moved, rows = _clip(example_film)
    assert outcome.clip_uri and not outcome.escalated, outcome.escalated
    [bad] = [r for r in rows if r.error_class == "BadOutput"]
    assert "cut short" in bad.error_message and bad.actual_cost == bad.estimate > 0
    assert [r.take for r in rows if r.status == "succeeded"] == [bad.take + 1], rows
    assert outcome.clip_uri == next(r.artifact_uri for r in rows if r.status == "succeeded")
    said = [e for e in moved if e.status == "failed" and e.take == bad.take]
    assert said and any("cut short" in r for r in said[0].reasons), moved
    assert _one_job_each(fakes) == 2       # the retake is a new seed: a new request, a new job


def test_a_refusal_with_no_fallback_escalates_the_shot_and_is_not_sent_again(example_film, fakes):
    """A moderation refusal (E005) with no other video model in the lineup escalates the shot with
    the provider's words; a second run asks nothing of the provider for the same request."""
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "moderation"})
    outcome, moved, rows = _clip(example_film)
    assert "refused by moderation" in (outcome.escalated or "") and "(E005)" in outcome.escalated, outcome.escalated
    assert "refused" in {e.status for e in moved}
    before = len(fakes.jobs("replicate"))
    again, _, rows = _clip(example_film)            # the same request is never sent again unchanged
    assert "refused by moderation" in (again.escalated or ""), again.escalated
    assert len(fakes.jobs("replicate")) == before
    assert len([r for r in rows if r.error_class == "RefusedByModeration"]) == 1, rows


def test_a_replicate_submit_whose_answer_was_lost_is_found_in_its_list_never_resubmitted(example_film, fakes):
    """The submit's answer lost after the job was made: the job is found in the account's list of
    predictions and followed; nothing is sent twice and nothing is left to reconcile."""
    from slate.governor.ledger import Ledger
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "drop_after"})
    outcome, _, rows = _clip(example_film)
    assert outcome.clip_uri and [r.status for r in rows] == ["succeeded"], (outcome.escalated, rows)
    assert _one_job_each(fakes) == 1
    assert not [r for r in Ledger.for_project(example_film).rows() if r.status in ("unknown", "submitted")]


def test_a_blocked_panel_prompt_escalates_at_once_with_the_providers_reason(example_film, fakes):
    """Gemini blocking the panel's prompt (`PROHIBITED_CONTENT`) escalates the shot with its reason
    at the first take: a failed row at $0, nothing drawn, no second take of the same words."""
    from slate.flows.shot.shot import shoot_panels
    from slate.governor.ledger import Ledger
    fakes.faults({"provider": "gemini", "op": "generate", "kind": "moderation", "data": {"reason": "PROHIBITED_CONTENT"}})
    told = {"panel_model": "gemini", "judge": "gemini", "run_cap_usd": "50", "film_cap_usd": "100"}
    outcome = on_one_shot(example_film, SHOT, told, lambda run, plan, made: shoot_panels.fn(run, plan))
    assert "PROHIBITED_CONTENT" in (outcome.escalated or ""), (outcome.escalated, outcome.halted)
    assert not outcome.approved, outcome.approved
    [panel] = [r for r in Ledger.for_project(example_film).rows() if r.stage == "panel"]
    assert panel.status == "failed" and panel.error_class == "RefusedByModeration" and panel.actual_cost == 0


def test_a_key_limit_reached_halts_the_shot_and_sends_nothing(example_film, fakes):
    """OpenRouter's 403 "Key limit exceeded" on a clip's submit halts (a person raises the key's
    limit; no other shot could be paid either): said in OpenRouter's words with what to do, no job
    made."""
    from slate.flows.shot.shot import PanelOutcome, shoot_video
    fakes.faults({"provider": "openrouter", "op": "submit", "kind": "status", "status": 403,
                  "body": {"error": {"code": 403, "message": "Key limit exceeded (total limit). Manage it using "
                                                             "https://openrouter.ai/settings/keys"}}})
    told = {"provider": "openrouter", "max_takes": 3, "run_cap_usd": "50", "film_cap_usd": "100"}
    outcome = on_one_shot(example_film, SHOT, told, lambda run, plan, made: shoot_video.fn(
        run, plan, PanelOutcome(shot=SHOT, approved={"start": made.panel_uri})), fps=24)
    assert "Key limit exceeded" in (outcome.halted or ""), (outcome.halted, outcome.escalated)
    assert "raise the limit" in outcome.halted, outcome.halted      # what to do: not "check the key"
    assert not outcome.clip_uri and len(fakes.jobs("openrouter")) == 0


def test_a_refused_clip_goes_to_the_next_model_of_the_lineup_and_the_switch_is_written(example_film, fakes):
    """A moderation refusal (E005) at Replicate with fal's Seedance next in the lineup: the clip is
    made on fal, the switch written in the ledger at $0 beside the refusal, each vendor given one job."""
    from slate.governor.ledger import Ledger
    fakes.faults({"provider": "replicate", "op": "submit", "kind": "moderation"})
    outcome, moved, rows = _clip(example_film, video_model=f"{LITE},{FAL_LITE}")
    assert outcome.clip_uri and not outcome.escalated, outcome.escalated
    [refused] = [r for r in rows if r.error_class == "RefusedByModeration"]
    assert "(E005)" in refused.error_message and refused.model == LITE.split(":", 1)[1]
    [switch] = [r for r in Ledger.for_project(example_film).rows() if r.error_class == "FallbackSwitch"]
    assert switch.actual_cost == 0 and switch.shot == SHOT and "switched" in switch.error_message
    [made] = [r for r in rows if r.status == "succeeded"]
    assert made.provider == "fal" and outcome.clip_uri == made.artifact_uri, made
    assert _one_job_each(fakes) == 1 and len(fakes.jobs("fal")) == 1
