"""One paid job (issue 55, item 1): one job Protocol, one registry factory by capability, one crew
cache, one governor job call and one call description for every stage whose model answers with a job."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from slate.governor.chokepoint import CallArtifact, Usage
from slate.providers import registry
from slate.providers.base import (CAPABILITIES, EVERY, ClipPass, ClipPassRequest, Jobs, LipSyncer, ModelClient,
                                  VideoGenerator)
from slate.providers.spec import FACESWAP, JUDGE, LIPSYNC, SPEECH, UPSCALE, VIDEO, ProviderSpec
from slate.providers.storage_local import LocalStorage
from slate.tasks.shot.jobs import job_spec, paid_job
from slate.tasks.run.run import open_run
from slate.tasks.shot.take_inputs import Maker
from tests.runs import a_run


def test_each_capability_is_a_field_of_the_spec_holding_its_factory():
    fields = {f.name for f in dataclasses.fields(ProviderSpec)}
    assert set(CAPABILITIES) <= fields and CAPABILITIES == tuple(c.name for c in EVERY)


def test_the_job_protocols_are_one_protocol_by_request():
    for named in (VideoGenerator, LipSyncer, ClipPass):
        assert Jobs in named.__mro__ and ModelClient in named.__mro__


def test_build_makes_every_model_a_spec_offers_by_its_capability(tmp_path):
    """One factory by capability: what a spec declares is what build finds, whatever the capability."""
    storage = LocalStorage(tmp_path)
    local = registry.provider("local")
    for capability in EVERY:
        for model in local.models(capability.name):
            made = registry.build(capability, f"local:{model}", storage)
            assert isinstance(made, ModelClient) and made.name == "local", (capability, model)
            if capability.timed and capability.clip:
                assert isinstance(made, Jobs), capability
    with pytest.raises(registry.UnknownProvider, match="local offers no faceswap model"):
        registry.build(FACESWAP, "local:whatever", storage)


def test_the_crew_keeps_one_client_per_capability_and_model_and_closes_them(example_film, monkeypatch):
    closed: list[str] = []

    class Closing:
        def __init__(self, capability: str) -> None:
            self.capability = capability

        def close(self) -> None:
            closed.append(self.capability)

    built: list[tuple[str, str]] = []

    def build(capability, ref, storage=None, settings=None):
        built.append((capability.name, str(ref)))
        return Closing(capability.name)

    monkeypatch.setattr("slate.tasks.run.run.build", build)
    with open_run(a_run(example_film)) as run:
        st = run.crew
        first = st.service(VIDEO, "local:local-ffmpeg-v1")
        assert st.service(VIDEO, "local:local-ffmpeg-v1") is first and st.videos is first
        assert st.service(LIPSYNC, "local:local-ffmpeg-v1") is not first   # another capability, another client
        st.service(SPEECH, "local:local-espeak-v1")
        assert st.judge is st.judge
    assert built == [("video", "local:local-ffmpeg-v1"), ("lipsync", "local:local-ffmpeg-v1"),
                     ("speech", "local:local-espeak-v1"), ("judge", run.lineup.judge)]
    assert sorted(closed) == ["judge", "lipsync", "speech", "video"]


def test_a_paid_job_is_described_once_and_made_through_the_governor(example_film, monkeypatch):
    """The call a pass hands the governor: its who-and-why, its units, a fingerprint of what is
    asked with the maker's variant, its files (empty ones left out) and its parameters with the
    variant over them; then the client of the maker's model, its deadline, and Governor.job."""
    maker = Maker(provider="local", model="m", variant={"workflow": "abc"}, profile="final")
    req = ClipPassRequest(kind="faceswap", clip_uri="cas://clip", width=852, height=480, fps=24, seconds=4.0, seed=2,
                          character="mia", face_uri="cas://face", face_index=0)
    with open_run(a_run(example_film)) as run:
        spec = job_spec(run, "faceswap", "1A", 2, maker, req, Usage("faceswap", seconds=4.0),
                        references=(req.clip_uri, None, ""), parameters={"seed": 2, "workflow": "mine"})
        assert (spec.context.shot, spec.context.stage, spec.context.take, spec.context.provider, spec.context.model,
                spec.context.profile) == ("1A", "faceswap", 2, "local", "m", "final")
        assert spec.references == ("cas://clip",) and spec.parameters == {"seed": 2, "workflow": "abc"}
        from slate.providers.base import fingerprint
        assert spec.fingerprint == fingerprint({"request": req.fingerprint(), "variant": {"workflow": "abc"}})

        asked: dict[str, object] = {}
        client = object()
        monkeypatch.setattr(type(run.crew), "service", lambda self, c, m: asked.update(capability=c, model=m) or client)
        monkeypatch.setattr(type(run.crew), "job_times", lambda self, m, j: (10.0, 30.0))

        def job(spec_, jobs, request, *, deadline, expected):
            asked.update(jobs=jobs, request=request, deadline=deadline, expected=expected)
            return CallArtifact("cas://made", "call-1")
        monkeypatch.setattr(run.crew.governor, "job", job)
        assert paid_job(run, FACESWAP, maker, spec, req) == "cas://made"
    assert asked == {"capability": FACESWAP, "model": "local:m", "jobs": client, "request": req, "deadline": 30.0,
                     "expected": 10.0}


def test_a_pass_capability_is_found_by_its_request_kind():
    from slate.providers.spec import CLIP_PASSES, PASSES
    assert PASSES == ("faceswap", "upscale") and CLIP_PASSES["faceswap"] is FACESWAP and CLIP_PASSES["upscale"] is UPSCALE
    assert JUDGE.name == "judge" and str(VIDEO) == "video"


def test_nothing_outside_providers_lists_the_capabilities_by_hand():
    """Lists of the capabilities (four or more names side by side: every capability, every job's)
    are written only in providers/; the rest of slate reads them from there."""
    import re
    root = Path(__file__).resolve().parents[2]
    names = "|".join(CAPABILITIES)
    listed = re.compile(rf'"({names})",\s*"({names})",\s*"({names})",\s*"({names})"')
    found = [str(p.relative_to(root)) for folder in ("governor", "tasks", "flows", "manifests", "media", "deployments")
             for p in (root / folder).rglob("*.py") if listed.search(p.read_text())]
    assert found == []


def test_a_key_gone_before_the_job_halts_the_run(example_film, monkeypatch):
    """A key that went away mid-run (read for the video slot's name, or building the client) halts
    the run before anything is sent: nothing more can be paid for."""
    from slate.governor.chokepoint import RunHalted
    from slate.providers.keys import MissingKey

    class Keyless:
        @property
        def key_id(self) -> str:
            raise MissingKey("no key for toy: set TOY_API_KEY", provider="toy")

    maker = Maker(provider="local", model="m", profile="draft")
    req = ClipPassRequest(kind="upscale", clip_uri="cas://clip", width=1704, height=960, fps=24, seconds=4.0)
    with open_run(a_run(example_film)) as run:
        monkeypatch.setattr(type(run.crew), "service", lambda self, c, m: Keyless())
        monkeypatch.setattr(type(run.crew), "job_times", lambda self, m, j: (10.0, 30.0))
        monkeypatch.setattr(run.crew.governor, "job", lambda *a, **k: pytest.fail("a job was sent"))
        spec = job_spec(run, "upscale", "1A", 1, maker, req, Usage("upscale", seconds=4.0), references=(),
                        parameters={})
        with pytest.raises(RunHalted, match="then run the same command again"):
            paid_job(run, UPSCALE, maker, spec, req, held=lambda jobs: getattr(jobs, "key_id"))
