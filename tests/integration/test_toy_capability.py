"""A toy capability reaches every place a pass over the clip reaches, with nothing else edited (issue 55).

"grain" — a pass that adds film grain to a shot's clip — is not one of slate's. It is made of two
things only: its provider module (tests/fakes/grain.py, installed as a plugin is: its capability
declared, its models offered, its jobs made with ffmpeg's noise filter) and, here, its stage (a
paid take through the governor, a check of what came back) and its one declaration
(tasks/shot/clip_passes.py `PassDef`, `declare_pass`). Nothing in slate/ names it. Then:

- the run's lineup line names it, with where its model came from;
- the estimate's total holds its price on each shot it takes, and on none other;
- RunOptions, slate.toml's `[models.<profile>]` and the command line (`--pass-model grain=…`) take its model;
- a scene's can key changes with its model, and is the key the scene always had where it takes no shot;
- a shot's lane runs it (after the lip-sync, where it was declared): its ledger rows are stage
  "grain", and the shot's clip is what it made;
- the dailies show its take, in the cut.

Checked the other way round too: with the registry's lookup broken (the lane reading no declared
pass), this file's lane, estimate and key tests fail.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prefect import task

from slate.governor.chokepoint import Usage
from slate.providers.base import ClipPassRequest
from slate.tasks.run.cache import ContentKey
from slate.tasks.shot.clip_passes import PassDef, declare_pass, withdraw_pass
from slate.tasks.gates.gate_inputs import StageInput
from slate.tasks.shot.jobs import job_spec, paid_job
from slate.tasks.shot.plan import ShotPlan
from slate.tasks.run.run import Run, in_project
from slate.tasks.shot.take_inputs import Maker
from slate.tasks.shot.take_loop import Judged
from tests.fakes import grain

FINE, COARSE = "grainy:fine", "grainy:coarse"
#: The framings the grain is put on (a test changes it to see a scene no shot of which takes it).
GRAINED = {"wide"}


# -- the toy's stage: its take, its check ---------------------------------------------------------
class GrainTake(StageInput):
    shot: str
    take: int
    request: ClipPassRequest
    maker: Maker


@task(name="grain-take", cache_policy=ContentKey(stage="grain-v1"), result_serializer="json")
def grain_take(run: Run, given: GrainTake) -> str:
    req = given.request
    spec = job_spec(run, "grain", given.shot, given.take, given.maker, req, Usage("grain", seconds=req.seconds),
                    references=(req.clip_uri,), parameters={"seconds": req.seconds, "seed": req.seed})
    return paid_job(run, grain.GRAIN, given.maker, spec, req)


@dataclass
class GrainStage:
    """Take N grains the clip with seed N; the check holds it to the clip's size and length, and
    to having changed it."""

    run: Run
    plan: ShotPlan
    clip_uri: str
    seconds: float
    maker: Maker
    name: str = "grain"
    gate: str = "grain_check"
    gate_words: str = "the grain check"

    @classmethod
    def of(cls, run: Run, plan: ShotPlan, clip_uri: str, seconds: float) -> "GrainStage":
        model = run.lineup.pass_model("grain")
        assert model is not None
        return cls(run, plan, clip_uri, seconds, Maker.named(model, run.crew.service(grain.GRAIN, model), run.profile))

    def make(self, take: int, model: str) -> str:
        from slate.media.probe import probe
        got = probe(self.run.crew.storage.open_local(self.clip_uri))
        return in_project(grain_take, self.run, GrainTake(shot=self.plan.shot, take=take, maker=self.maker,
                                                          request=ClipPassRequest(
            kind="grain", clip_uri=self.clip_uri, width=got.width, height=got.height, fps=self.plan.fps,
            seconds=self.seconds, seed=take)))

    def judge(self, take: int, uri: str) -> Judged[Any]:
        from slate.media.probe import probe
        storage = self.run.crew.storage
        was, now = probe(storage.open_local(self.clip_uri)), probe(storage.open_local(uri))
        same = (was.width, was.height) == (now.width, now.height) and abs(was.duration - now.duration) < 0.1
        changed = storage.open_local(uri).read_bytes() != storage.open_local(self.clip_uri).read_bytes()
        return Judged(same and changed, 1.0 if same and changed else 0.0, () if same else ("size or length changed",))


GRAIN_PASS = PassDef(
    capability=grain.GRAIN, title="film grain", stage=GrainStage.of, gate="grain_check", after="lipsync",
    applies=lambda plan, profile: plan.request_of("start").framing in GRAINED,
    usage=lambda plan: [Usage("grain", seconds=plan.duration)],
    versions=("grain-v1", "grain-check-v1"))


@pytest.fixture
def grained(example_film, tmp_path, monkeypatch):
    """The example film with the grain pass declared and its provider installed, priced."""
    monkeypatch.delenv("SLATE_FPS", raising=False)
    monkeypatch.setenv("SLATE_PAID_CALLS_ALLOWED", "local,grainy")
    (example_film / "rates.toml").write_text(grain.RATES)
    GRAINED.clear()
    GRAINED.add("wide")
    with grain.installed(tmp_path / "site") as jobs:
        declare_pass(GRAIN_PASS)
        try:
            yield example_film, jobs
        finally:
            withdraw_pass("grain")


# -- before anything runs: the options, the lineup, the estimate, the key ------------------------------
def test_its_model_is_an_option_of_the_run_the_profile_and_the_command_line(grained):
    from typer.testing import CliRunner

    from slate.cli import app
    from slate.manifests.options import RunOptions
    from slate.providers.registry import UnknownProvider, lineup
    from slate.manifests.settings import project_settings
    root, _ = grained
    assert RunOptions(pass_models=["grain=grainy:coarse"]).pass_models == {"grain": COARSE}
    assert RunOptions(pass_models="grain=grainy:fine").pass_models == {"grain": FINE}   # a form's text field
    settings = project_settings(root)
    assert lineup(settings).pass_model("grain") is None          # no model named: the pass does not run
    told = lineup(settings.model_copy(update={"pass_models": {"grain": "grainy"}}))
    assert str(told.pass_model("grain")) == "grainy:fine" and told.chosen_by["grain"] == "pass_models"
    (root / "slate.toml").write_text((root / "slate.toml").read_text() + '\n[models.draft]\ngrain = "grainy:coarse"\n')
    by_profile = lineup(project_settings(root))
    assert str(by_profile.pass_model("grain")) == COARSE and by_profile.chosen_by["grain"] == "models.draft.grain"
    with pytest.raises(UnknownProvider, match="did you mean grain"):
        lineup(settings.model_copy(update={"pass_models": {"grian": FINE}}))
    from slate.commands.options import argv_of
    assert argv_of(RunOptions(pass_models={"grain": FINE, "faceswap": "none"})) == \
        ["--pass-model=grain=grainy:fine", "--pass-model=faceswap=none"]
    out = CliRunner().invoke(app, ["estimate", str(root), "--pass-model", "grain=grainy:fine",
                                   "--pass-model", "faceswap=none"])
    assert out.exit_code == 0, out.output[-3000:]
    assert "film grain grainy:fine (told to this run)" in out.output, out.output[-2000:]


def test_the_lineup_names_it_and_the_estimate_prices_it_on_the_shots_it_takes(grained):
    from slate.manifests import load_film
    from slate.manifests.options import RunOptions
    from slate.tasks.run.run_plan import plan_run
    root, _ = grained
    film = load_film(root)
    plain = plan_run(film, RunOptions())
    with_grain = plan_run(film, RunOptions(pass_models={"grain": COARSE}))
    assert "film grain grainy:coarse (told to this run)" in with_grain.lineup_line(), with_grain.lineup_line()
    assert "grain" not in plain.lineup_line()
    wide = {p.shot: p.duration for p in _plans(root) if p.request_of("start").framing == "wide"}
    assert sorted(wide) == ["1A", "1C", "1I"]
    shots = {line.shot: line for line in with_grain.estimate.scenes["scene-01"].lines}
    for shot, line in shots.items():   # $0.02 a second of each wide shot; nothing on the others
        assert line.passes_cost == (Decimal("0.02") * Decimal(str(wide[shot])) if shot in wide else 0), shot
    assert with_grain.estimate.total - plain.estimate.total == Decimal("0.02") * sum(Decimal(str(s)) for s in wide.values())


def test_a_scene_is_keyed_by_its_model_only_where_it_takes_a_shot(grained):
    root, _ = grained
    plain = _key(root, {})
    fine, coarse = _key(root, {"grain": FINE}), _key(root, {"grain": COARSE})
    assert len({plain, fine, coarse}) == 3
    GRAINED.clear()
    GRAINED.add("extreme close-up")    # a framing no shot of the scene has: the pass takes none of them
    assert _key(root, {"grain": FINE}) == plain


# -- the lane and the dailies ---------------------------------------------------------------------
def test_a_shots_lane_runs_it_and_the_dailies_show_its_take(grained, prefect_harness):
    from slate.commands.dailies import shot_lines
    from slate.flows.shot.lane import run_lane
    from slate.flows.review.rushes import dailies_of, record_rushes
    from slate.flows.shot.scene_speech import VoiceReferences
    from slate.governor.ledger import Ledger
    from slate.manifests import load_film
    from tests.one_shot import on_one_shot
    root, jobs = grained
    film = load_film(root)

    def body(run, plan, made):
        return run_lane(run, film, plan, made.clip, None, VoiceReferences(root)).clip

    clip = on_one_shot(root, "1A", {"pass_models": {"grain": FINE}, "lipsync_model": "none"}, body)
    rows = [r for r in Ledger.for_project(root).rows() if r.stage == "grain"]
    assert [(r.shot, r.take, r.status, r.provider, r.model) for r in rows] == [("1A", 1, "succeeded", "grainy", "fine")]
    assert rows[0].actual_cost == Decimal("0.01") * Decimal("2.5")
    assert clip.clip_uri == rows[0].artifact_uri and not clip.escalated, clip
    assert [m for m, _ in jobs] == ["fine"]

    [plan] = [p for p in _plans(root) if p.shot == "1A"]
    record_rushes(root, film=film.film.id, scene="scene-01", profile="draft", run_id="toy", plans=[plan], panels={},
                  clips={"1A": clip}, statuses={"1A": "approved"})
    with Ledger.for_project(root) as ledger:
        [shot] = dailies_of(root, ledger, film.film.id, ["scene-01"], "draft")
    [take] = shot.passes
    assert (take.stage, take.title, take.take, take.made, take.in_cut) == ("grain", "film grain", 1, True, True)
    assert take.uri == clip.clip_uri and Decimal(take.cost_usd) == rows[0].actual_cost
    assert any(line.startswith("  film grain take 1 · made · in the cut · $") for line in shot_lines(shot)), \
        shot_lines(shot)


def test_a_shot_it_does_not_take_keeps_its_clip(grained, prefect_harness):
    from slate.flows.shot.lane import run_lane
    from slate.flows.shot.scene_speech import VoiceReferences
    from slate.governor.ledger import Ledger
    from slate.manifests import load_film
    from tests.one_shot import on_one_shot
    root, jobs = grained
    film = load_film(root)
    got = on_one_shot(root, "1G", {"pass_models": {"grain": FINE}, "lipsync_model": "none"},
                      lambda run, plan, made: (run_lane(run, film, plan, made.clip, None, VoiceReferences(root)).clip,
                                               made.clip))
    clip, given = got
    assert clip.clip_uri == given.clip_uri and not jobs
    assert not [r for r in Ledger.for_project(root).rows() if r.stage == "grain"]


def _plans(root: Path) -> list[ShotPlan]:
    from slate.manifests import load_film
    from slate.tasks.shot.plan import plan_from_project
    return plan_from_project(load_film(root), "scene-01", "draft", 24)


def _key(root: Path, models: dict[str, str]) -> str:
    from slate.governor.policy import TakePolicy
    from slate.manifests import load_film
    from slate.manifests.settings import project_settings
    from slate.tasks.run.reel import scene_keys
    settings = project_settings(root).model_copy(update={"pass_models": models})
    [(key, _)] = scene_keys(root, load_film(root), settings, ["scene-01"],
                            TakePolicy(settings.max_takes, settings.no_progress_takes)).values()
    return key
