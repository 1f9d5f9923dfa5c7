"""Spend efficiency: what the panel gate saves on video, on a rehearsed film with seeded bad work.

    .venv/bin/python -m benchmarks.spend [--shots 16] [--seed 7]

A film of N shots is written from the example's bible (the example scene's shots, then copies of
them with new ids and seeds) into a temporary folder and rendered twice by the scene flow with the
local provider, every video call priced as Seedance 1 Pro (`price_as`): once with the gate policy
as shipped, once with `[stages.panel] enabled = false` in the film's gates.toml. Both renders see
the same seeded bad work, made by edits after drawing — never by the painter's fault code nor by
the gates' own: 30% of panel takes are edited (the frame regraded to another hue, mirrored, or half
of it replaced by the other location's plate) and 10% of clips are edited after rendering
(mirrored and regraded by ffmpeg). Which take is edited is seeded by its request, so both renders
meet the same bad takes. Chains are switched off so that whether a clip is off-model is known
exactly from what it was made from.

Printed, as one JSON line: per render, the video spend and the minimum (one clip per shot at the
same price), their ratio, the shots delivered with a good clip, the off-model clips delivered as
if good, the shots escalated, and `to_finish_over_minimum` — the spend plus, at the least, one
more clip for every shot still without a good one, over the minimum.

It must never touch the repository's example-film/ folder, and never print a figure it did not
measure: spend comes from the ledger rows, off-model from the edits this script made.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

import slate.tasks.run.run
from slate.manifests.options import RunOptions
from slate.governor.chokepoint import Usage
from slate.governor.ledger import Ledger
from slate.governor.ratecard import RateCard
from slate.manifests import write_example_film
from slate.media.ffmpeg import run as ffmpeg
from slate.providers.local import FaultMode, LocalImage, LocalVideo
from slate.providers.base import ClipRequest
from slate.providers.registry import build as registry_build

PRICE_AS = "replicate:bytedance/seedance-1-pro"
PANEL_RATE, CLIP_RATE = 0.30, 0.10
PAID = ("succeeded", "failed", "submitted", "unknown")


def _chosen(seed: int, what: str, fingerprint: str, rate: float) -> random.Random | None:
    rng = random.Random(hashlib.sha256(f"{seed}|{what}|{fingerprint}".encode()).digest())
    return rng if rng.random() < rate else None


def _regrade(img: Image.Image, degrees: float) -> Image.Image:
    hsv = np.asarray(img.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(int) + int(degrees / 360 * 255)) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


class Edits:
    """What this benchmark edited: digests of the panels it changed, clips by job id."""

    def __init__(self, root: Path, seed: int):
        self.root, self.seed = root, seed
        self.panels: set[str] = set()
        self.clips: set[str] = set()

    def panel(self, png: bytes, fingerprint: str) -> bytes:
        rng = _chosen(self.seed, "panel", fingerprint, PANEL_RATE)
        if rng is None:
            return png
        img = Image.open(io.BytesIO(png)).convert("RGB")
        kind = rng.choice(("regrade", "mirror", "half another place"))
        if kind == "regrade":
            img = _regrade(img, rng.uniform(90, 270))
        elif kind == "mirror":
            img = _regrade(img.transpose(Image.FLIP_LEFT_RIGHT), rng.uniform(20, 40))
        else:
            other = rng.choice(sorted((self.root / "locations").glob("*/*_plate_APPROVED.png")))
            plate = Image.open(other).convert("RGB").resize(img.size)
            half = img.width // 2
            img.paste(plate.crop((half, 0, img.width, img.height)), (half, 0))
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=1)
        edited = buf.getvalue()
        self.panels.add(hashlib.sha256(edited).hexdigest())
        return edited


def providers_with_edits(edits: Edits):
    """The run's provider factories, wrapped: the local painter and renderer, then the edits."""

    class EditedPanels(LocalImage):
        def __init__(self, storage, faults=FaultMode()):
            super().__init__(storage, faults)
            self.variant = {**self.variant, "edited_after_drawing": [PANEL_RATE, edits.seed]}

        def generate_panel(self, request, *, client_ref=None, force_fault=None):
            return edits.panel(super().generate_panel(request, client_ref=client_ref), request.fingerprint())

        recover = None  # the painter keeps unedited copies: a crashed take is not part of this measure

    class EditedClips(LocalVideo):
        def __init__(self, storage, *, latency=0.0, faults=FaultMode()):
            super().__init__(storage, latency=latency, faults=faults)
            self.variant = {**self.variant, "edited_after_drawing": [CLIP_RATE, edits.seed]}

        def download(self, job_id: str, dest: Path) -> Path:
            super().download(job_id, dest)
            request = ClipRequest(**self._record(job_id)["request"])
            rng = _chosen(edits.seed, "clip", request.fingerprint(), CLIP_RATE)
            if rng is not None:
                tmp = dest.with_name(dest.stem + ".edit.mp4")
                ffmpeg(["-y", "-v", "error", "-i", str(dest), "-vf", f"hflip,hue=h={rng.randint(90, 270)}",
                        "-pix_fmt", "yuv420p", str(tmp)])
                tmp.replace(dest)
                edits.clips.add(job_id)
            return dest

    def build(capability, ref, storage=None, settings=None):   # as providers.registry.build: the local painter and
        if capability.name == "image":                         # video model, edited; every other as built
            return EditedPanels(storage)
        if capability.name == "video":
            return EditedClips(storage)
        return registry_build(capability, ref, storage, settings)

    return build


def write_film(dest: Path, shots: int) -> Path:
    root = write_example_film(dest)
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    base = doc["shots"]
    out = []
    for i in range(shots):
        shot = dict(base[i % len(base)])
        shot["id"] = f"{1 + i // len(base)}{shot['id'][-1]}"
        shot["seed"] = i // len(base) * 101
        shot["chain"] = False
        out.append(shot)
    out[-1]["transition_out"] = {"kind": "cut", "duration": 0}
    doc["shots"] = out
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


def render(root: Path, seed: int) -> dict:
    """One render of the film; its figures from the ledger and from this script's edits."""
    from slate.flows.scene import scene_flow
    from slate.flows.run.scene_result import scene_result
    edits = Edits(root, seed)
    slate.tasks.run.run.build = providers_with_edits(edits)
    started = time.perf_counter()
    state = scene_flow(project=str(root), options=RunOptions(price_as=PRICE_AS), return_state=True)
    wall = time.perf_counter() - started
    result = scene_result(state)
    doc = yaml.safe_load((root / "scenes" / "scene-01.yaml").read_text())
    card = RateCard.load(root)
    price = {s["id"]: card.price(PRICE_AS, Usage("video", seconds=s["duration"], resolution="480p"))
             for s in doc["shots"]}
    rows = Ledger.for_project(root).rows(film="night-diner")
    videos = [r for r in rows if r.stage == "video" and r.status in PAID]
    spend = sum((r.actual_cost if r.actual_cost is not None else r.estimate for r in videos), Decimal(0))
    minimum = sum(price.values(), Decimal(0))
    approved = {s.shot for s in result.shots if s.status == "approved"}
    good, off_model = set(), set()
    for shot in approved:
        final = max((r for r in videos if r.shot == shot and r.status == "succeeded"), key=lambda r: r.take)
        made_from = [ref for ref in final.reference_hashes or ()]
        bad = final.job_id in edits.clips or any(_digest(ref) in edits.panels for ref in made_from)
        (off_model if bad else good).add(shot)
    missing = [s for s in price if s not in good]
    to_finish = spend + sum((price[s] for s in missing), Decimal(0))
    return {"state": state.name, "wall_seconds": round(wall, 1), "video_spend_usd": str(spend),
            "minimum_usd": str(minimum), "spend_over_minimum": round(float(spend / minimum), 3),
            "clips_paid": len(videos), "good_shots": len(good), "off_model_delivered": len(off_model),
            "escalated": len([s for s in result.shots if s.status == "escalated"]),
            "to_finish_over_minimum": round(float(to_finish / minimum), 3),
            "panels_drawn": len([r for r in rows if r.stage == "panel" and r.status == "succeeded"]),
            "panels_edited": len(edits.panels), "clips_edited": len(edits.clips)}


def _digest(ref: str) -> str:
    """The content digest a ledger reference names (a cas:// URI, or a bare hash)."""
    return ref.removeprefix("cas://").split(".", 1)[0]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", type=int, default=16)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    from prefect.testing.utilities import prefect_test_harness
    import os
    os.environ.setdefault("SLATE_PAID_CALLS_ALLOWED", "local")
    figures = {}
    with tempfile.TemporaryDirectory() as tmp, prefect_test_harness(server_startup_timeout=120):
        for gate in ("on", "off"):
            root = write_film(Path(tmp) / f"gate-{gate}", args.shots)
            if gate == "off":
                (root / "gates.toml").write_text("[stages.panel]\nenabled = false\n")
            figures[f"panel_gate_{gate}"] = render(root, args.seed)
    print(json.dumps({"shots": args.shots, "seed": args.seed, "price_as": PRICE_AS, "panel_edit_rate": PANEL_RATE,
                      "clip_edit_rate": CLIP_RATE, **figures}, sort_keys=False))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
