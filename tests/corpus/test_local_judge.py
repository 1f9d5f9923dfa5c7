"""The local judge, measured on a seeded sample of its trials: clean panels and faulty ones.

Bar (issue 2, benchmarks/gate_bar.py): at least 95% of faults caught, at most 5% of clean panels
failed. The full trials (100 clean, 100 faulty) run in benchmarks/ (`python -m
benchmarks.judge_trials`); here JUDGE_SAMPLE of each, drawn with the seeded Sample (seed 33),
the faulty ones spread over every fault kind of the painter. The figures are printed (run with
-s to see them). Keyframe gate: clean clips pass, off-model clips fail.
"""
from __future__ import annotations

import pytest

from slate.media import keyframes
from slate.providers.base import ReferenceImages
from slate.providers.local import FaultMode, LocalImage, LocalVideo
from slate.providers.local_judge import LocalJudge
from benchmarks.judge_trials import run_trials, trial_failures
from slate.providers.local_draw import FAULT_KINDS
from slate.tasks.review.judge_trial import TRIAL_FAULTS
from slate.providers.storage_local import LocalStorage
from slate.tasks.shot.plan import plan_from_project
from slate.manifests import load_film


JUDGE_SAMPLE = 12   # clean panels, and faulty ones (2 of each of the trial's six fault kinds), of the trials' 100 and 100


def test_panel_judge_catches_faults_and_passes_clean_panels(example_master):
    report = run_trials(example_master, n_clean=100, n_faulty=100, sample=JUDGE_SAMPLE)
    print("\n" + report.summary())
    assert report.clean == report.faulty == JUDGE_SAMPLE
    assert sorted(report.by_kind) == sorted(TRIAL_FAULTS)   # the painter's faults and the ledger's prop faults
    assert set(FAULT_KINDS) <= set(TRIAL_FAULTS)
    assert all(total == JUDGE_SAMPLE // len(TRIAL_FAULTS) for _, total in report.by_kind.values())
    broken = trial_failures(report)
    assert not broken, broken


def _plans(root):
    return plan_from_project(load_film(root), "scene-01", "draft", 12)


@pytest.mark.parametrize("fault", [None, "recolour", "wrong_plate", "corrupted"])
def test_keyframe_gate(example_film, tmp_path, fault):
    storage = LocalStorage(example_film)
    painter, judge = LocalImage(storage), LocalJudge()
    video = LocalVideo(storage, faults=FaultMode(1.0 if fault else 0.0, 0, (fault,) if fault else ()))
    plans = {p.shot: p for p in _plans(example_film)}
    for shot in ("1B", "1I"):  # start+end with a dolly in; start with a dolly out
        p = plans[shot]
        start_req = p.panel_request("start", 1)
        start = storage.put_bytes(painter.generate_panel(start_req), "png")
        end = storage.put_bytes(painter.generate_panel(p.panel_request("end", 1)), "png") if p.end else None
        job = video.submit(p.clip_request(start, end, 1), client_ref=f"{shot}-{fault}")
        clip = video.download(job, tmp_path / f"{shot}.mp4")
        verdict = judge.judge_keyframes(keyframes(clip, tmp_path / shot), storage.open_local(start),
                                        storage.open_local(end) if end else None, start_req,
                                        ReferenceImages(plate=storage.open_local(start_req.plate_uri)))
        assert verdict.passed == (fault is None), (shot, fault, verdict.to_dict())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no fault frames left
