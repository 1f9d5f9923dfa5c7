"""The music stage's takes (flows/edit/scene_music.py `music_cues`), in-process on the example's own
brief (the-mug: 1D to 1F, its hit on the cut into 1E) with a real governor and ledger and a
composer whose cues end as each row says (tests/fakes/scripted.py, installed as a plugin is):
the one take loop's rule, counted where it lands — the cues the composer was asked for, the
ledger's `music` rows, and what the run said. No scene is rendered.

A cue the music gate fails is made again with the next seed, then escalated naming what failed;
a failed or unusable answer is retaken; a refusal is not asked again; an escalated cue leaves the
scene's mix without it and never touches a picture.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import yaml

from tests.fakes import scripted
from tests.one_shot import on_one_shot

MAX_TAKES = 3


@dataclass(frozen=True)
class Row:
    outcome: str
    script: tuple[str, ...]
    take: int | None                    # the take mixed (None: escalated, nothing mixed)
    rows: tuple[tuple[str, str | None], ...]
    said: str = ""                      # in the escalation the run says


OK, FAILED = ("succeeded", None), ("failed", "JobFailed")
ROWS = [
    Row("a short cue, then a good one", ("short", "ok"), 2, (OK, OK)),
    Row("short every take", ("short",) * MAX_TAKES, None, (OK,) * MAX_TAKES, said="length"),
    Row("a failed answer, then a good one", ("failed", "ok"), 2, (FAILED, OK)),
    Row("an unusable answer every take", ("unusable",) * MAX_TAKES, None, (("failed", "BadOutput"),) * MAX_TAKES,
        said="unusable"),
    Row("a refusal", ("refused",), None, (("failed", "RefusedByModeration"),), said="refused by moderation"),
]


@pytest.fixture
def plugged(tmp_path, monkeypatch):
    monkeypatch.setenv("SLATE_PAID_CALLS_ALLOWED", "local,script")
    with scripted.installed(tmp_path / "site") as book:
        yield book


def _scored(root, cap: str = "50"):
    (root / "rates.toml").write_text(scripted.RATES)
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    [brief] = doc["finishing"]["music"]
    brief["model"] = "script:score"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return brief


def _made(root, told):
    """The scene's cues made on a cut of 1D, 1E, 1F (one rendered clip stands for each: only
    their lengths are read), and the ledger's music rows."""
    from slate.flows.edit.scene_music import music_cues
    from slate.governor.ledger import Ledger
    from slate.manifests import load_film
    from slate.tasks.edit.assembly import finishing_inputs

    def body(run, plan, made):
        film = load_film(root)
        approved = [(sid, made.clip.clip_uri, secs) for sid, secs in (("1D", 2.5), ("1E", 3.0), ("1F", 2.0))]
        inputs = finishing_inputs(run.crew, root, film, "scene-01", approved, [("cut", 0.0)] * 2, run.profile)
        return music_cues(run, film, inputs, [a[0] for a in approved])

    cues = on_one_shot(root, "1D", {"max_takes": MAX_TAKES, "no_progress_takes": MAX_TAKES, "film_cap_usd": "100",
                                    **told}, body)
    rows = sorted((r for r in Ledger.for_project(root).rows() if r.stage == "music"), key=lambda r: r.take)
    return cues, rows


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.outcome.replace(" ", "-"))
def test_a_cue_meets_each_outcome_by_the_loops_one_rule(row, example_film, prefect_harness, plugged):
    _scored(example_film)
    plugged.reset(music=list(row.script))
    from slate.tasks.run.events import ShotMoved
    from slate.tasks.run.run import listen
    heard: list = []
    stop = listen(heard.append)
    try:
        cues, rows = _made(example_film, {"run_cap_usd": "50"})
    finally:
        stop()
    assert len(plugged.of("music")) == len(row.script)                  # each take asked once, no more
    assert [(r.status, r.error_class) for r in rows] == list(row.rows), [(r.take, r.status, r.error_class) for r in rows]
    assert [r.take for r in rows] == list(range(1, len(rows) + 1))
    assert [r.shot for r in rows] == ["music:the-mug"] * len(rows)
    if row.take is not None:
        [cue] = cues
        assert cue.uri == rows[row.take - 1].artifact_uri and cue.kind == "music" and cue.ducks
        assert cue.start == 0.0 and cue.seconds == pytest.approx(7.5)   # 1D to 1F, spotted on this cut
        seeds = [job.request.seed for job in plugged.of("music")]
        assert seeds == list(range(seeds[0], seeds[0] + len(seeds)))    # take N: the brief's seed + N - 1
    else:
        assert cues == []
        [said] = [e for e in heard if isinstance(e, ShotMoved) and e.stage == "music_gate" and e.status == "escalated"]
        assert "the-mug" in said.reasons[0] and row.said in said.reasons[0], said.reasons


def test_a_cap_refusal_asks_the_composer_nothing(example_film, prefect_harness, plugged):
    _scored(example_film)
    plugged.reset(music=[])
    cues, rows = _made(example_film, {"run_cap_usd": "0.01"})           # 7.5 s at $0.01 is $0.075
    assert cues == [] and plugged.of("music") == []
    assert [(r.status, r.error_class) for r in rows] == [("refused", "BudgetRefused")]
