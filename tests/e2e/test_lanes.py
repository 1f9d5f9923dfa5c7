"""A shot's lane does not wait for the scene's other shots (issue 55 item 3; flows/shot/lane.py).

The example cut to 1D (Gabe's "Too hot. Take it back.", medium: spoken, then lip-synced) and 1I
(the scene's last shot, whose clip is slow: it renders for seconds after 1D's clip has landed).
Its clips are made by the scripted provider (tests/fakes/scripted.py, installed as a plugin is),
1I's job held running until the ledger shows 1D's lip-sync finished (or for BOUND seconds), while
1D's ends at once. Counted where it lands — the ledger's timestamps: 1D's lip-sync finished before
1I's clip did. The hold waits on the lip-sync, not on the clock: a race against a fixed number of
seconds (12, then 45) was lost on a machine as loaded as CI's `make test` leaves it. Before the lanes, each pass was a scene-wide barrier
(every clip in, then every swap, every line, every sync), and 1D's lip-sync waited for 1I's clip.
"""
from __future__ import annotations

import pytest

from slate.flows.scene import scene_flow
from slate.governor.ledger import Ledger
from slate.manifests.options import RunOptions
from tests.fakes import scripted
from tests.scene_cuts import keep_shots

pytestmark = [pytest.mark.e2e]

#: The longest 1I's clip is held running for 1D's lip-sync. Only a scene-wide barrier (1D's
#: lip-sync waiting for 1I's clip) ever waits this long — and then fails the order asserted below.
#: Generous: in a fresh clone's `make test` (four workers and mypy on two cores) 150 s was once not
#: enough. The job's deadline is three times the film's [job_seconds] for the scripted clip.
BOUND = 420.0
JOB_SECONDS = 200


def test_shot_1s_lip_sync_is_made_while_a_later_shots_clip_still_renders(example_film, prefect_harness, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("SLATE_PAID_CALLS_ALLOWED", "local,script")
    (example_film / "rates.toml").write_text(scripted.RATES)
    with (example_film / "slate.toml").open("a") as toml:
        # Two video jobs at a time (on a key of its own, below: a key's slot count is set when its
        # first job asks, once a process): with the one slot a film has by default, 1I's held clip
        # kept the slot whenever it asked first, and 1D's clip (not its lip-sync) waited the whole
        # bound behind it — a fresh clone failed so, three times. The lanes are the rule here.
        toml.write("\nvideo_slots = 2\n")
        toml.write(f'\n[job_seconds]\n"script:clip" = {JOB_SECONDS}\n')   # the hold stays under its deadline
    keep_shots(example_film, ("1D", "1I"))
    import time
    with scripted.installed(tmp_path / "site") as book:
        asked = [0.0, False]
        heard: list[str] = []                   # what each read of the ledger said, for a failure's words

        def synced() -> bool:
            # Asked on every poll of 1I's job (20 a second, in the poller's thread): the ledger read
            # at most twice a second, each read's ledger closed. One opened for every poll and never
            # closed went unanswered for the whole bound in a loaded make test.
            if not asked[1] and time.monotonic() - asked[0] >= 0.5:
                asked[0] = time.monotonic()
                try:
                    with Ledger.for_project(example_film) as ledger:
                        asked[1] = any(r.stage == "lipsync" and r.shot == "1D" and r.finished_at is not None
                                       for r in ledger.rows())
                    heard.append(f"{time.strftime('%H:%M:%S')} {asked[1]}")
                except Exception as e:  # noqa: BLE001 — a busy read now is asked again in half a second
                    heard.append(f"{time.strftime('%H:%M:%S')} {type(e).__name__}: {e}")
            return bool(asked[1])

        # 1I: "Gabe turns on his stool … as Mia laughs."
        book.reset(slow={"Mia laughs": BOUND}, until={"Mia laughs": synced}, key_id="lanes-two-slots")
        done = scene_flow(project=str(example_film), options=RunOptions(video_model="script:clip"),
                          return_state=True).result()
        clips = book.of("video")
    by = {s.shot: s for s in done.shots}
    assert by["1D"].status == "approved" and by["1I"].status == "approved", {s: b.reason for s, b in by.items()}
    assert by["1D"].lip_sync, by["1D"]
    assert len(clips) == 2 and sum("Mia laughs" in j.request.prompt for j in clips) == 1, clips
    rows = Ledger.for_project(example_film).rows()
    [sync] = [r for r in rows if r.stage == "lipsync" and r.shot == "1D"]
    [slow] = [r for r in rows if r.stage == "video" and r.shot == "1I" and r.status == "succeeded"]
    [fast] = [r for r in rows if r.stage == "video" and r.shot == "1D" and r.status == "succeeded"]
    assert sync.finished_at is not None and slow.finished_at is not None and fast.finished_at is not None
    told = "\n".join([f"{r.shot} {r.stage} take {r.take} {r.status} {r.created_at:%H:%M:%S}-"
                       f"{r.finished_at and f'{r.finished_at:%H:%M:%S}'}" for r in rows if r.shot in ("1D", "1I")]
                      + [f"asked {len(heard)} times:"] + heard[:3] + heard[-3:])
    # 1D's lip-sync was made while 1I's clip rendered (the rule); with a barrier it waits for the clip.
    assert sync.finished_at < slow.finished_at, told
    assert fast.finished_at < sync.created_at                # the lane starts once its clip is in
