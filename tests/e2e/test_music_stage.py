"""Issue 59's music stage, wired: the example's own cue (the-mug, made to its brief from 1D to 1F,
its hit on the cut into 1E) in a real run of those three shots — spotted on the delivered cut, made
by the local composer through the governor, judged by the music gate and mixed — its hit measured
in the delivered mix; an unchanged re-run makes no call; 12 frames trimmed off 1D, before the hit,
make exactly one new ledger row, the cue's. (The shots' lines are left out: speech and lip-sync
have their own runs, and would only slow this one.)
"""
from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
import yaml

from slate.cli import app
from slate.governor.ledger import Ledger
from slate.media.ffmpeg import ffmpeg_exe
from slate.media.music_gate import onsets
from tests.integration.test_cli import runner
from tests.scene_cuts import keep_shots

FPS = 24.0


def _mix(path: Path, out: Path) -> tuple[np.ndarray, int]:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(path), "-vn", "-ac", "1",
                    "-ar", "48000", "-c:a", "pcm_s16le", str(out)], check=True)
    with wave.open(str(out), "rb") as src:
        rate, frames = src.getframerate(), src.readframes(src.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0, rate


def _strongest_onset(x: np.ndarray, rate: int, near: float) -> float:
    env, step = onsets(x, rate)
    lo, hi = int((near - 0.5) / step), int((near + 0.5) / step)
    return (lo + int(np.argmax(env[lo:hi]))) * step


def _hit_in_mix(mix: np.ndarray, cue: np.ndarray, rate: int, hit: float) -> float:
    """Where the cue's hit is heard in the delivered mix: the cue found in the mix by
    cross-correlation (the mix's loudness pass limits a hit's peak, so it is found by the whole
    cue, not by its loudest onset), plus where its hit's onset is in the cue itself."""
    n = 1 << int(np.ceil(np.log2(len(mix) + len(cue))))
    corr = np.fft.irfft(np.fft.rfft(mix, n) * np.conj(np.fft.rfft(cue, n)), n)
    reach = int(0.5 * rate)                                         # the cue placed within half a second
    lags = np.concatenate([corr[-reach:], corr[:reach + 1]])
    lag = (int(np.argmax(lags)) - reach) / rate
    return lag + _strongest_onset(cue, rate, hit)


def _cue(root: Path, row) -> np.ndarray:
    from slate.providers.storage_local import LocalStorage
    from slate.flows.edit.scene_music import read_cue
    return read_cue(LocalStorage(root).open_local(row.artifact_uri))[0]


def _rows(root: Path):
    return list(Ledger.for_project(root).rows(film="night-diner"))


@pytest.mark.e2e
@pytest.mark.usefixtures("prefect_harness", "local_calls")
def test_a_cue_hits_its_cut_in_the_mix_is_made_once_and_remade_alone_after_a_trim(example_film, tmp_path):
    keep_shots(example_film, ("1D", "1E", "1F"))
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    for shot in doc["shots"]:
        shot.pop("dialogue", None)
    [brief] = doc["finishing"]["music"]                              # the example's own
    assert (brief["name"], brief["hits"]) == ("the-mug", [{"cut": "1E"}])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))

    first = runner.invoke(app, ["run", str(example_film)])
    assert first.exit_code == 0, first.output
    music = [r for r in _rows(example_film) if r.stage == "music"]
    assert [(r.shot, r.status) for r in music] == [("music:the-mug", "succeeded")]
    cut = float(doc["shots"][0]["duration"])                       # 1D, then a hard cut into 1E
    x, rate = _mix(example_film / "renders" / "scene-01-draft.mp4", tmp_path / "mix.wav")
    assert abs(_hit_in_mix(x, _cue(example_film, music[0]), rate, cut) - cut) <= 1 / FPS

    before = len(_rows(example_film))
    second = runner.invoke(app, ["run", str(example_film)])
    assert second.exit_code == 0, second.output
    assert "provider calls made: 0" in second.output and len(_rows(example_film)) == before

    doc["finishing"]["shots"] = {"1D": {"trim_out": 0.5}}          # 12 frames off 1D's tail
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    third = runner.invoke(app, ["run", str(example_film)])
    assert third.exit_code == 0, third.output
    new = _rows(example_film)[before:]
    assert [(r.stage, r.shot) for r in new] == [("music", "music:the-mug")]
    x, rate = _mix(example_film / "renders" / "scene-01-draft.mp4", tmp_path / "mix2.wav")
    assert abs(_hit_in_mix(x, _cue(example_film, new[0]), rate, cut - 0.5) - (cut - 0.5)) <= 1 / FPS
