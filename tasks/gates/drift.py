"""Drift check: every Nth shot of a scene (and of a chain), its last frame against the references
it must still match.

A chain starts each shot from the previous shot's last frame, so small errors compound; a scene
drifts too, shot after shot, as a video model slowly repaints people. Every `drift_every`-th shot
the last keyframe is measured against:
  * the shot's approved panel — the image the panel gate held to the bible (same composition,
    so SSIM from scikit-image is taken on aligned pictures) — and its colours (Lab chroma and
    overall hue of both softened, after the frame's exposure is matched to the panel's: a chain's
    ordinary re-encode losses must not read as drift);
  * the master references themselves: the location plate (colour statistics, levelled for
    exposure) and, with CLIP weights, the plate and every character's turnaround (embeddings);
    CLIP also compares the frame with the panel.
Slow losses are measured too: the frame's fine detail against the picture it descends from
(a chain softening shot by shot), and each character's colour signature still in it
(media.presence: someone fading into the plate). The drift figure is the worst of 1 − SSIM,
the colour distance to the panel, the detail and presence lost (each scaled so its measured
cut sits at the film's 0.35) and 1 − CLIP similarity to the panel; past the threshold the next
chained shot re-anchors on its own approved panel. A last frame with no content
(media/content.py: flat, black, washed out, drowned in noise) is drift at its worst (1.0):
nothing of the chain is left to carry on from, so the next shot re-anchors. Free (pixels and a
local model) and cached by content. It must never decide anything but whether to re-anchor.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image
from prefect import task

from slate.media import colour_distance, colour_stats, load_rgb, ssim
from slate.media.content import content_fault
from slate.media.grade import frame_window, lab, soften
from slate.media import clip as clip_models
from slate.media import likeness
from slate.media.presence import Cast
from slate.tasks.run.cache import ContentKey
from slate.tasks.run.run import Run
from slate.tasks.run.memo import BoundedMemo
from slate.tasks.gates.gate_inputs import DriftInput
from slate.tasks.shot.plan import ShotPlan
from slate.tasks.gates.verdicts import DriftReading
from slate.tasks.run.versions import DRIFT_VERSION  # bumped there

#: A picture as slate's measures take it (media.load_rgb): a file, a PIL image or RGB pixels.
Picture = Path | str | Image.Image | np.ndarray

# CLIP models by (model, weights): hundreds of megabytes each, loaded once in a process, whatever
# run asks. Process-wide on purpose and bounded: a film names one model; a second evicts the first.
_EMBEDDERS: BoundedMemo[tuple[str, str], tuple[clip_models.Embedder | None, str]] = BoundedMemo("CLIP models", 2)
_LOCK = threading.Lock()   # one load at a time: two threads must not load the same model twice

# The colour measure's scale (see `measure`): the film's 0.35 threshold sits at 7 degrees of hue
# rotation or 7 Lab units of cast. Measured: a clean chained frame with its figures elsewhere read
# 2 degrees and 3.3 units; a panel turned 10 degrees (HSV) read 10.
COLOUR_WIDTH = 96   # px: softened enough that per-pixel grain and JPEG blocks average out
CHROMA_FULL = 20.0  # mean Lab chroma difference read as colour distance 1.0
HUE_FULL = 20.0     # degrees of overall hue rotation read as colour distance 1.0 (0.35 = 7 degrees)
CAST_FULL = 20.0    # Lab units the mean (a*, b*) moved, read as colour distance 1.0 (0.35 = 7 units)


def embedder(model: str, weights: str) -> clip_models.Embedder | None:
    with _LOCK:
        made, why = _EMBEDDERS.get_or_make((model, weights), lambda: clip_models.load(model, weights))
    clip_models.say_once(why)
    return made


def _levelled(img: Picture) -> np.ndarray:
    a = load_rgb(img).astype(np.float32)
    levelled: np.ndarray = np.clip(a * (128.0 / max(1.0, float(a.mean()))), 0, 255).astype(np.uint8)
    return levelled


@task(name="drift-check", cache_policy=ContentKey(stage=DRIFT_VERSION), result_serializer="json",
      task_run_name="drift check {given.shot}")
def drift_check(run: Run, given: DriftInput) -> DriftReading:
    """`given.origin_uri`: the approved panel the frame descends from (a chained shot's frames
    come from the chain's first panel, or an end panel before it); empty or `panel_uri`: its
    own. `given.characters`: the shot's people ({id, turnaround_uri, wardrobe_colour}), whose
    presence is a drift measure beside SSIM, colour and sharpness."""
    st = run.crew
    shot, last_frame_uri, panel_uri, threshold = given.shot, given.last_frame_uri, given.panel_uri, given.threshold
    plate_uri, turnaround_uris, origin_uri, characters = (given.plate_uri, given.turnaround_uris, given.origin_uri,
                                                          given.characters)
    clip_model, clip_weights = given.clip_model, given.clip_weights
    frame = load_rgb(st.storage.open_local(last_frame_uri))
    panel = load_rgb(st.storage.open_local(panel_uri))
    origin = load_rgb(st.storage.open_local(origin_uri)) if origin_uri not in ("", panel_uri) else None
    plate = st.storage.open_local(plate_uri) if plate_uri else None
    sheets = {c.id: st.storage.open_local(c.turnaround_uri) for c in characters}
    wardrobe = {c.id: c.wardrobe_colour for c in characters}
    people = people_of([c.id for c in characters], sheets, wardrobe, plate) if characters else None
    seen: dict[str, Any] = {"shot": shot, **measure(frame, panel, plate, origin, people, bible_parts(sheets, wardrobe)),
                            "threshold": threshold}
    worst = seen["drift"]
    model = embedder(clip_model, clip_weights) if clip_model else None
    if model is not None:
        panel_sim = model.similarity(frame, panel)
        clip: dict[str, Any] = {"model": model.name, "panel": round(panel_sim, 4)}
        if plate_uri:
            clip["plate"] = round(model.similarity(frame, st.storage.open_local(plate_uri)), 4)
        for uri in turnaround_uris:
            clip.setdefault("turnarounds", []).append(round(model.similarity(frame, st.storage.open_local(uri)), 4))
        seen["clip"] = clip
        if 1.0 - panel_sim > worst:
            seen["reason"] = f"CLIP similarity {panel_sim:.2f} to the panel"
        worst = max(worst, 1.0 - panel_sim)
    else:
        seen["clip"] = None
    blank = content_fault(frame)
    if blank:
        seen["content"] = seen["reason"] = f"the last frame: {blank}"
        worst = 1.0
    return DriftReading.model_validate({**seen, "drift": round(worst, 4), "reanchor": worst > threshold})


def measure(frame: Picture, panel: Picture, plate: Picture | None = None, origin: Picture | None = None,
            people: Cast | None = None, parts: list[likeness.Part] | None = None) -> dict[str, Any]:
    """The pixel measures of drift (no CLIP): SSIM and colour distance of the frame to its
    approved panel, and the colour distance to the plate (levelled for exposure). A pure
    function, so benchmarks/gates.py measures exactly what the scene's check does.

    SSIM is taken against the crop of the picture the frame descends from that explains it best
    (media.grade's move search: a clip's dolly or pan ends on another part of its panel), after
    the frame's exposure is matched to that crop (a gain on its mean: every cut of a chain may
    move exposure a little). That picture is `origin` when given — a chained shot's frames
    descend from the chain's first panel, not from the shot's own, whose figures stand
    elsewhere: against its own panel SSIM read layout, not drift (benchmarks/gates.py: 2 of 15
    clean chained 20-shot chains re-anchored on it) — and the shot's own panel otherwise.

    The colour distance reads how the picture's colours moved, not where things stand: a chained
    shot starts from the previous shot's last frame, so its figures may stand elsewhere than in its
    own panel (the example's 1E: a per-pixel Lab chroma difference of 7.7 units, past the
    threshold, for a frame with exactly the panel's colours). It is the larger of
      * the overall hue rotation, HUE_FULL degrees = 1.0: per pixel of the aligned crop (of the
        origin when given, so the pixels compared are the same things), the hue angle turned,
        weighted by chroma (grey has no hue to lose) — a slow repaint turns every colour one way;
        a re-encode turns pixels both ways. The most common turn instead of the mean was tried:
        an HSV turn of 10 degrees spreads over 2-20 degrees of Lab hue, and its mode read 6.4;
      * the colour cast, CAST_FULL Lab units = 1.0: how far the picture's mean (a*, b*) moved
        from the whole panel's (where things stand does not move a mean much: 3.3 units on 1E).
    Both are taken on the pictures softened to COLOUR_WIDTH px wide, so JPEG grain and blocks
    average out. `chroma` (the per-pixel difference on the aligned crop) is reported, not judged.
    The former 8x8x8 RGB-histogram distance read a clean 20-shot chain's re-encode losses as
    0.39-0.58, past the 0.35 threshold on 96.7 % of clean chains in benchmarks/gates.py."""
    pixels, panel_pixels = load_rgb(frame), load_rgb(panel)
    source = panel_pixels if origin is None else load_rgb(origin)
    aligned, box = _window(pixels, source)
    frame = _matched(pixels, aligned)
    to_plate = None
    if plate is not None:
        to_plate = colour_distance(colour_stats(_levelled(frame)), colour_stats(_levelled(plate)))
    size = (COLOUR_WIDTH, max(8, round(COLOUR_WIDTH * frame.shape[0] / frame.shape[1])))
    a, b, whole = lab(soften(frame, size)), lab(soften(aligned, size)), lab(soften(panel_pixels, size))
    chroma = float(np.linalg.norm(a[..., 1:] - b[..., 1:], axis=-1).mean())
    hue = _hue_shift(a, b)
    cast = float(np.linalg.norm(a[..., 1:].mean(axis=(0, 1)) - whole[..., 1:].mean(axis=(0, 1))))
    seen_ssim = round(ssim(frame, aligned), 4)
    colour = round(min(1.0, max(abs(hue) / HUE_FULL, cast / CAST_FULL)), 4)
    sharp = _sharpness(frame, aligned)
    softened = min(1.0, max(0.0, 1.0 - sharp) / SHARP_FULL * 0.35)
    kept, who = _kept(people, frame, aligned)
    faded = min(1.0, max(0.0, 1.0 - kept) / FADE_FULL * 0.35)
    worst = max(1.0 - seen_ssim, colour, softened, faded)
    within = None
    if parts and people is not None and people.plate is not None:
        # Where the picture it descends from shows people, not the set (media.presence: the
        # plate's window found in it): a dark part is not read on the set's shadows.
        within = people.figure(soften(aligned, likeness.size_of(aligned))[None])[0]
    held = bible_drift(pixels, frame, aligned, box, source.shape[1], source.shape[0], parts or [], within)
    worst = max(worst, held["drift"])
    _, reason = max([(1.0 - seen_ssim, f"SSIM {seen_ssim:.2f} to the picture it descends from"),
                     (colour, f"the picture's hue turned {hue:+.0f}°, its cast {cast:.1f} Lab units"),
                     (softened, f"its fine detail x{sharp:.2f} of the picture it descends from"),
                     (faded, f"{who} kept {kept:.0%} of their colours"), (held["drift"], held["reason"])],
                    key=lambda c: c[0])
    return {"ssim": seen_ssim, "drift": round(worst, 4), "sharpness": round(sharp, 4),
            "bible": held["figures"], "reason": reason,
            "presence": None if who is None else {"character": who, "kept": round(kept, 4)},
            "colour_distance": colour,
            "hue_shift": round(hue, 2), "cast": round(cast, 3), "chroma": round(chroma, 3),
            "colour_to_plate": None if to_plate is None else round(to_plate, 4)}


SHARP_FULL = 0.30  # fine detail lost (1 - the frame's over its origin's) read as the 0.35 threshold
FADE_FULL = 0.50   # of a character's colours lost from the frame (against its origin) read as 0.35
PRESENCE_WIDTH = 160  # px: the scale presence is read at (as the keyframe gate's dailies)


# The bible's cuts (each read as the film's 0.35 drift; benchmarks/gates.py's clean chains, see docs/gates.md):
HUE_CUT = 12.0      # degrees one character's hair, skin or outfit hue turned from the approved picture
LIGHTNESS_CUT = 10.0  # L* units one of their colours moved (after the frame's exposure is matched)
LIGHT_CUT = 0.30    # the frame's light level off its origin's by this share or more (x0.70, x1.43): a clean
                    # chain's re-encodes darken it to x0.79 by shot 20
ZOOM_CUT = 1.18     # the frame's scale over the origin's: past a dolly's 1.15 (media/commands.py)
SHIFT_CUT = 0.08    # of the origin's width (or height) the framing's centre moved: twice a pan's end


def bible_drift(pixels: np.ndarray, matched: np.ndarray, aligned: np.ndarray, box: tuple[float, float, float, float],
                width: int, height: int, parts: list[likeness.Part], within: np.ndarray | None = None
                ) -> dict[str, Any]:
    """The frame against the master references, not the previous shot: each character's hair,
    skin and outfit (media.likeness: their turnaround dressed in the scene's wardrobe, read where
    the picture the frame descends from shows them), the frame's light level against that
    picture's (`pixels` as delivered, `aligned` the crop of it the move ends on) and its framing:
    the scale and the centre of that crop in the picture (`width` x `height`). Each figure is
    scaled so its cut sits at the film's 0.35; `reason` names the worst ("nina's hair hue +28°
    against the turnaround")."""
    found: list[tuple[float, str]] = []
    figures: dict[str, Any] = {}
    for r in likeness.read(matched, aligned, parts, within):
        key = f"{r.part.character}.{r.part.name}"
        figures[key] = {"hue": None if r.hue is None else round(r.hue, 1), "lightness": round(r.lightness, 1)}
        if r.hue is not None:
            found.append((abs(r.hue) / HUE_CUT, likeness.describe(r, "hue") + " against the turnaround"))
        found.append((abs(r.lightness) / LIGHTNESS_CUT, likeness.describe(r, "lightness") + " against the turnaround"))
    light = float(pixels.mean()) / max(1.0, float(aligned.mean()))
    figures["light"] = round(light, 3)
    found.append((abs(np.log(light)) / abs(np.log(1.0 - LIGHT_CUT)),
                  f"the light level x{light:.2f} of the picture the chain started from"))
    zoom = width / max(1e-6, box[2] - box[0])
    shift = max(abs((box[0] + box[2]) / 2 - width / 2) / width, abs((box[1] + box[3]) / 2 - height / 2) / height)
    figures["zoom"], figures["shift"] = round(zoom, 3), round(shift, 3)
    found.append((max(0.0, zoom - 1.0) / (ZOOM_CUT - 1.0), f"the framing {zoom:.2f}x closer than the picture the "
                   f"chain started from"))
    found.append((shift / SHIFT_CUT, f"the framing moved {shift:.0%} of the frame from the picture the chain "
                  f"started from"))
    score, why = max(found)
    drift = min(1.0, 0.35 * score)
    return {"drift": drift, "figures": figures, "reason": why if drift > 0 else None}


def _sharpness(frame: np.ndarray, aligned: np.ndarray) -> float:
    """The frame's fine detail over the picture it descends from (aligned, same size): mean
    |Laplacian| of luma, at the frame's own size. A chain softening shot by shot reads below 1;
    re-encodes read about 1 (benchmarks/gates.py: see SHARP_FULL)."""
    from slate.media import sharpness_noise
    base = sharpness_noise(aligned)
    return 1.0 if base <= 0 else float(sharpness_noise(frame) / base)


def _kept(people: Cast | None, frame: np.ndarray, aligned: np.ndarray) -> tuple[float, str | None]:
    """The least share of any character's colour signature still in the frame, against the
    picture it descends from (media.presence, both at PRESENCE_WIDTH): a character slowly fading
    into the plate. (1.0, None) without a cast, or when nobody can be told by colour."""
    if people is None or not people.members:
        return 1.0, None
    h = max(8, round(PRESENCE_WIDTH * frame.shape[0] / frame.shape[1]))
    small = [np.asarray(Image.fromarray(a).resize((PRESENCE_WIDTH, h), Image.Resampling.BOX)) for a in (frame, aligned)]
    now, then = people.presence(small[0][None], small[1]), people.presence(small[1][None], small[1])
    worst, who = 1.0, None
    cid: str
    for cid in people.members:
        before = float(np.nan_to_num(then[cid][0]))
        if before < 0.2:  # not in the picture it descends from: nothing to lose
            continue
        ratio = float(np.nan_to_num(now[cid][0], nan=before)) / before
        if ratio < worst or who is None:
            worst, who = min(worst, ratio), cid
    return worst, who


def _window(frame: np.ndarray, panel: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The panel's crop that best explains the frame, at the frame's size (the whole panel when
    nothing better does: a still frame of the panel finds its full window), and that window."""
    still = Image.fromarray(panel)
    _, box, _ = frame_window(still, frame, (8, 8))
    return np.asarray(still.resize((frame.shape[1], frame.shape[0]), Image.Resampling.BILINEAR, box=box)), box


def _hue_shift(a: np.ndarray, b: np.ndarray) -> float:
    """The picture's overall hue rotation from b to a, in degrees: each pixel's hue angle
    difference weighted by the reference's chroma (grey pixels have no hue to lose). A colour cast
    or a slow repaint turns the whole picture one way; codec noise turns pixels both ways, and so
    do figures standing elsewhere (their turns cancel out: 2.9 degrees on the example's 1E)."""
    turn = np.angle(np.exp(1j * (np.arctan2(a[..., 2], a[..., 1]) - np.arctan2(b[..., 2], b[..., 1]))))
    weight = np.hypot(b[..., 1], b[..., 2])
    return float(np.degrees((turn * weight).sum() / max(1e-6, float(weight.sum()))))


def _matched(frame: np.ndarray, panel: np.ndarray) -> np.ndarray:
    """The frame with its mean brightness brought to the panel's (one gain on all channels, so
    hue and saturation are left as they were)."""
    a = frame.astype(np.float32)
    matched: np.ndarray = np.clip(a * (float(panel.mean()) / max(1.0, float(a.mean()))), 0, 255).astype(np.uint8)
    return matched


def due(plan: ShotPlan, every: int) -> bool:
    """Every `every`-th shot of the scene, and every `every`-th shot of a chain."""
    return (plan.index + 1) % every == 0 or (plan.chain_position > 0 and plan.chain_position % every == 0)


def bible_parts(sheets: dict[str, Path], wardrobe: dict[str, str | None]) -> list[likeness.Part]:
    """Each character's hair, skin and outfit colours (media.likeness) from their turnaround's
    first view dressed in the scene's wardrobe, read as the keyframe gate reads sheets; a sheet
    slate cannot read gives none (the reference gate has said so before any run)."""
    from slate.tasks.gates.keyframes import dressed_figure
    from slate.tasks.gates.sheet_check import SHEET
    out: list[likeness.Part] = []
    for cid, path in sheets.items():
        try:
            figure = dressed_figure(path, wardrobe.get(cid))
        except Exception:  # noqa: BLE001 — art slate cannot read is not drift
            continue
        out += likeness.parts_of(cid, figure, SHEET.torso, SHEET.head)
    return out


def people_of(named: Sequence[str], turnarounds: dict[str, Path], wardrobe: dict[str, str | None],
              plate: Path | None) -> Cast | None:
    """The shot's characters' colour signatures (media.presence) for drift's presence measure,
    read from their turnarounds as the keyframe gate reads them; None when none can be read."""
    from slate.tasks.gates.keyframes import ClipCast, cast_of
    cast = ClipCast(tuple(named), {c: turnarounds[c] for c in named if c in turnarounds}, wardrobe, plate)
    return cast_of(cast, (90, PRESENCE_WIDTH)) if cast.turnarounds else None
