"""The local judge held on a corpus it was not tuned for (benchmarks/gates.py), on a seeded sample.

Clean panels and clips from the local provider with the changes a gate must let through
(exposure ±10–30%, gamma, JPEG q15–35, a slight blur, noise), and faults made by editing that
output after drawing — heads replaced or swapped, places swapped, hair or torso recoloured, the
plate replaced or shifted, a figure removed or added, a reframing, blotches, stripes, decoder
garbage, clips whose second half is another shot. Bar (issues 9 and 20, benchmarks/gate_bar.py,
the same checks the benchmark makes): each fault kind at least 95% caught and at most 5% of clean
takes failed, each verdict held to the gate policy.

The full corpus (N=200 of each kind) runs in benchmarks/ (`python -m benchmarks.gates`, figures
in benchmarks/RESULTS.md). Here each test draws a small seeded sample of it (issue 33): k case
numbers of each kind's N, drawn by `random.Random` seeded with SAMPLE_SEED (33) and the kind —
every kind appears, clean included — on the corpus's seed 11 (the benchmark's figures are at seed
7). Each case has its own random stream, so a panel or drift case here is the benchmark's case
of that number at seed 11; clip cases are cut from a pool of CLIPS clean clips (the benchmark's:
40). Over a sample this small the bar means every fault caught and no clean case failed.
"""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.gate_bar import (SAMPLE_SEED, Sample, failures, fading_failures, mark_failures, presence_failures,
                                 rows_of)
from benchmarks.gate_corpus import BLANK_PANELS, CORNERS, CUT_KINDS, DRIFT_FAULTS, PANEL_FAULTS, RECOLOUR_PANELS
from benchmarks.gates import WHOLE_CLIP_KINDS, Bench

SEED = 11                  # the corpus's seed in the tests
N = 200                    # cases of each kind in the benchmark's corpus: the samples are drawn from these
PANEL_SAMPLE = 4           # panels of each kind (clean, 7 fault kinds; then clean and the 6 of issue 20)
KEYFRAME_SAMPLE = 2        # clean keyframe sets and partway clips; off-model: one of each panel fault kind
CONTINUITY_SAMPLE = 4      # cuts of each kind (clean and 4 fault kinds; clean and the 3 of issue 20)
DRIFT_SAMPLE = 3           # 20-shot chains of each kind
CLIP_FAULT_SAMPLE = 1      # whole-clip faults of each kind (of the benchmark's N/4)
PRESENCE_SAMPLE = 2        # clips that drop or add a character, of each
WHOLE_CLIP_SAMPLE = 1      # issue 36's whole-clip kinds, of each (of the benchmark's N/2)
CLIPS = 12                 # clean clips cut into keyframe and continuity cases: each shot's move, then 3 dollies
WIDE_FACE_SAMPLE = 3       # of 6 clips animated from a wide panel with another face
MARK_SAMPLE = 4            # text marks of each kind (issue 36): one in each corner


def _report(bench: Bench) -> str:
    import json
    return "\n".join(json.dumps(line) for line in bench.tally.lines())


def _cases(bench: Bench, gate: str) -> dict[str, int]:
    return {kind: row["cases"] for kind, row in rows_of(bench.tally.rows, gate).items()}


def test_the_sample_is_seeded_and_draws_every_kind():
    """The draw is the same every run, k of each kind's N, and spreads off-model clips over every
    panel fault kind."""
    panel = Sample(N, PANEL_SAMPLE)
    assert panel.seed == SAMPLE_SEED == 33
    assert panel.indices("identity") == Sample(N, PANEL_SAMPLE).indices("identity")
    assert len(panel.indices("identity")) == PANEL_SAMPLE and panel.indices("identity") != panel.indices("wardrobe")
    assert Sample(N).indices("identity") == list(range(N))   # the benchmark: every case
    off_model = Sample(N // 5, KEYFRAME_SAMPLE).strata("off_model", len(PANEL_FAULTS))
    assert sorted({i % len(PANEL_FAULTS) for i in off_model}) == list(range(len(PANEL_FAULTS)))


def test_panel_gate_on_the_edited_corpus(example_master, tmp_path):
    bench = Bench(example_master, tmp_path, seed=SEED)
    bench.panels(Sample(N, PANEL_SAMPLE))
    print("\n" + _report(bench))
    assert _cases(bench, "panel") == {kind: PANEL_SAMPLE for kind in ("clean", *PANEL_FAULTS)}
    broken = failures(bench.tally.rows, "panel")
    assert not broken, broken
    assert list(tmp_path.iterdir()) == []  # nothing generated is left behind


# --- the clips: one pool of clean clips for every clip test of this module --------------------

#: The tests cut from the pool run on one worker (an xdist group), so the pool is rendered once a
#: run (about 14 s of CPU) instead of once on every worker that draws one of them.
CLIPS_GROUP = pytest.mark.xdist_group("corpus-clips")


@pytest.fixture(scope="module")
def clip_bench(example_master, tmp_path_factory):
    """CLIPS clean clips rendered by ffmpeg, seed 11: each of the example's nine shots with its
    own move, then three with a dolly in whatever the shot asked (as the fakes render)."""
    bench = Bench(example_master, tmp_path_factory.mktemp("clips"), seed=SEED)
    clips = bench.clips(CLIPS)
    yield bench, clips
    bench.done(clips)


def _fresh(clip_bench):
    bench, clips = clip_bench
    bench.tally.rows.clear()
    bench.presence_cases.clear()
    bench.mark_cases.clear()
    bench.hitch_cases.clear()
    return bench, clips


@CLIPS_GROUP
@pytest.mark.e2e
def test_keyframe_gate_on_the_edited_corpus(clip_bench):
    """Clean keyframe sets (graded; the judge's three frames and slate's own checks of the whole
    clip graded alike — issue 20 items 3-4), clips whose second half is another shot, and clips
    animated from an off-model panel, one of each panel fault kind, held on their own (issue 20: a
    wide shot's replaced head was missed at 7 of 9 when only pooled with partway)."""
    bench, clips = _fresh(clip_bench)
    bench.keyframes(Sample(N, KEYFRAME_SAMPLE), clips)
    print("\n" + _report(bench))
    cases = _cases(bench, "keyframe")
    assert cases["clean"] == cases["partway"] == KEYFRAME_SAMPLE
    off_model = rows_of(bench.tally.rows, "keyframe")["off_model"]
    assert sorted(off_model["by_edit"]) == sorted(PANEL_FAULTS), off_model["by_edit"]
    broken = failures(bench.tally.rows, "keyframe")
    assert not broken, broken


@CLIPS_GROUP
@pytest.mark.e2e
def test_continuity_gate_on_the_edited_corpus(clip_bench):
    """Cuts between shots that share a place or someone: the last frame of a clip rendered by
    ffmpeg against the next shot's first frame (every other one a camera move under way), clean
    with the photometric spread, and each with the later frame's location, or the face, the
    outfit or the presence of someone in both shots edited. The colour measure alone failed
    3/30 clean (gamma-shifted) cuts and caught 0/6 face and 0/6 outfit changes."""
    bench, clips = _fresh(clip_bench)
    bench.continuity(Sample(N, CONTINUITY_SAMPLE), clips)
    print("\n" + _report(bench))
    assert _cases(bench, "continuity") == {kind: CONTINUITY_SAMPLE
                                           for kind in ("clean", "location", "identity", "wardrobe", "missing")}
    broken = failures(bench.tally.rows, "continuity")
    assert not broken, broken


def test_drift_gate_lets_re_encoded_chains_through_and_catches_repainted_ones(example_master, tmp_path):
    """Issue 9 item 5: 20-shot chains, each cut re-encoded (JPEG q85-95, exposure ±1%), checked
    every 5th shot by tasks/gates/drift.py's measure at the film's drift_threshold; the drifting ones
    are also slowly repainted (hue 2-4 degrees a shot) and softened: no clean chain may re-anchor
    (<= 5%) and every drifting one must (>= 95%). The former RGB-histogram colour distance
    re-anchored 97% of clean chains."""
    from slate.manifests.settings import project_settings
    bench = Bench(example_master, tmp_path, seed=SEED)
    bench.drift(Sample(N, DRIFT_SAMPLE), project_settings(example_master).drift_threshold, {"clean", "drift"})
    print("\n" + _report(bench))
    assert _cases(bench, "drift") == {"clean": DRIFT_SAMPLE, "drift": DRIFT_SAMPLE}
    broken = failures(bench.tally.rows, "drift")
    assert not broken, broken


def test_drift_measure_reads_an_overall_hue_turn_and_not_exposure_jpeg_or_layout():
    """tasks/gates/drift.py's measure on a small made picture of colour patches: turned 10 degrees (HSV)
    in hue it is past the 0.35 threshold (the hue term: its colour cast alone stays under); made
    4% brighter and re-encoded at JPEG q85 it stays well under; with its patches in other places
    (a chained shot's figures standing elsewhere than in its panel: the same colours, another
    layout) its colour stays under too."""
    import io

    import numpy as np
    from PIL import Image, ImageFilter

    from slate.tasks.gates.drift import measure
    rng = np.random.default_rng(3)
    patches = rng.integers(40, 216, (9, 16, 3)).astype(np.uint8)

    def picture(cells):
        return Image.fromarray(cells).resize((320, 180), Image.NEAREST).filter(ImageFilter.GaussianBlur(2))
    panel = picture(patches)
    hsv = np.asarray(panel.convert("HSV")).astype(np.int32).copy()
    hsv[..., 0] = (hsv[..., 0] + round(10 / 360 * 255)) % 256
    turned = Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB")
    brighter = Image.fromarray(np.clip(np.asarray(panel, np.float32) * 1.04, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    brighter.save(buf, format="JPEG", quality=85)
    re_encoded = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    # Two figure-sized blocks of the picture trade places (figures standing elsewhere on the same set).
    layout = patches.copy()
    layout[2:7, 2:5], layout[2:7, 10:13] = patches[2:7, 10:13], patches[2:7, 2:5]
    moved = picture(layout)
    seen_turned, seen_clean, seen_moved = measure(turned, panel), measure(re_encoded, panel), measure(moved, panel)
    print(seen_turned, seen_clean, seen_moved)
    assert seen_turned["colour_distance"] > 0.35 and seen_turned["cast"] / 20.0 < 0.35
    assert 8.0 <= abs(seen_turned["hue_shift"]) <= 12.0
    assert seen_clean["colour_distance"] < 0.2
    assert seen_moved["colour_distance"] < 0.2 and seen_moved["chroma"] / 20.0 > 0.35  # per pixel it would fail


def test_a_chained_frame_is_held_to_the_panel_it_descends_from(example_master):
    """A chained shot's last frame descends from the chain's first panel: its SSIM and hue are
    measured against that (`origin`), not against the shot's own panel, whose figures the seed
    placed elsewhere. Close framings, where figures fill the frame, are the hard case: against the
    own panel SSIM drops by layout alone."""
    from dataclasses import replace

    from benchmarks.gate_corpus import drift_step
    from slate.tasks.gates.drift import measure
    import numpy as np
    bench = Bench(example_master, example_master.parent / "unused", seed=11)
    rng = np.random.default_rng(5)
    close = [r for r in bench.base if r.framing == "close" and r.characters]
    for req in close[:3]:
        first = bench.painter.draw(req)
        own = bench.painter.draw(replace(req, seed=req.seed + 7919))
        frame = first
        for _ in range(10):
            frame = drift_step(frame, rng, False, 0.0)
        held, naive = measure(frame, own, origin=first), measure(frame, own)
        assert held["ssim"] >= 0.85 and held["colour_distance"] < 0.2, held
        assert naive["ssim"] < held["ssim"] - 0.05, (naive, held)


def test_a_clip_animated_from_a_wide_panel_with_another_face_fails_on_that_figure(example_master, tmp_path):
    """A face or hair changed in a wide shot is a few tenths of a percent of the frame: the
    whole-frame share and the largest patch passed 4 of 6 of these (seed 11) before the first
    frame was held figure by figure to the start image. WIDE_FACE_SAMPLE of the six, drawn with
    the seeded Sample, each on its own random stream."""
    bench = Bench(example_master, tmp_path, seed=SEED)
    plan = next(p for p in bench.plans if p.shot == "1A")   # a wide shot of Nina alone
    assert plan.panel_request("start", 1).framing == "wide"
    verdicts = []
    for i in Sample(6, WIDE_FACE_SAMPLE).indices("wide_identity"):
        rng = np.random.default_rng([SEED, 20, i])
        clip = bench.clip(plan, 11_000 + i, "static" if plan.camera_fixed else plan.movement, fault=("identity", rng))
        verdicts.append(bench.keyframe_case(clip, clip["frames"], "off_model", "identity", rng, "none",
                                            clip_file=clip["file"]))
        bench.done([clip])
    assert len(verdicts) == WIDE_FACE_SAMPLE
    assert all(not v["passed"] for v in verdicts), _report(bench)
    for v in verdicts:   # failed where the face is, naming whose
        assert any(s["name"] in ("identity", "identity_colour") and not s["passed"] and "nina" in s["reason"]
                   for s in v["scores"]), v["scores"]


# --- issue 20: the whole clip, and slow losses -------------------------------------------------

def _whole_clip(clip_bench, kinds) -> tuple[dict[str, int], list[str]]:
    """Faults the judge's three frames miss, made by editing a clean clip's frames, graded like
    clean output, re-encoded and judged by the whole keyframe gate (tasks/gates/keyframes.py
    own_scores beside the judge): CLIP_FAULT_SAMPLE of each kind. Returns the cases per kind and
    what of the bar they broke. (The clean clips, graded over all their frames, are held to the
    whole gate by test_keyframe_gate_on_the_edited_corpus.)"""
    bench, clips = _fresh(clip_bench)
    bench.clip_faults(Sample(N // 4, CLIP_FAULT_SAMPLE), clips, kinds)
    print("\n" + _report(bench))
    return _cases(bench, "keyframe"), failures(bench.tally.rows, "keyframe")


@CLIPS_GROUP
@pytest.mark.e2e
def test_black_and_flat_spans_between_the_keyframes_are_caught(clip_bench):
    """Issue 20 item 4: black frames over 20-40% of the clip (never on a keyframe), a clip turning
    one flat colour from its middle, a whole flat clip of a static shot. Before the dailies (the
    benchmark at --n 100, seed 7): 0/25 of each caught."""
    cases, broken = _whole_clip(clip_bench, ("black_span", "flat_span", "flat_static"))
    assert cases == {"black_span": CLIP_FAULT_SAMPLE, "flat_span": CLIP_FAULT_SAMPLE, "flat_static": CLIP_FAULT_SAMPLE}
    assert not broken, broken


@CLIPS_GROUP
@pytest.mark.e2e
def test_a_stopped_move_a_cast_over_the_clip_and_a_clip_drowned_in_noise_are_caught(clip_bench):
    """Issue 20 item 4: a start-only clip whose camera move stops partway (35-60% in), a warm cast
    (R x1.15, B x0.8) over the whole clip (before: 0/25 and 0/25), noise sigma 60 on every frame
    (re-encoded: the encoder turns it into blotches that boil from frame to frame; before: 2/25)."""
    cases, broken = _whole_clip(clip_bench, ("move_stops", "warm_cast", "noise60"))
    assert cases == {"move_stops": CLIP_FAULT_SAMPLE, "warm_cast": CLIP_FAULT_SAMPLE, "noise60": CLIP_FAULT_SAMPLE}
    assert not broken, broken


@CLIPS_GROUP
@pytest.mark.e2e
def test_a_clip_that_drops_or_adds_a_character_is_caught(clip_bench):
    """Issue 20 item 3: a chained clip whose start lacks someone the shot names (rendered from
    that start, as a chain renders from the previous shot's last frame), and a clip someone of
    the cast walks into. The judge holds the clip to the frame it started from, so only the
    presence check (media/presence.py) sees the first. In the diner every colour Gabe and Jenny
    wear is on the set or on the other: they are foreground members, looked for where the frame
    is not the plate (before that the gate only warned, and half the drops passed). Held: every
    added person caught; every dropped one caught, the reason naming who is gone; a diner
    foreground member among the dropped."""
    bench, clips = _fresh(clip_bench)
    bench.clip_faults(Sample(N // 4, PRESENCE_SAMPLE), clips, ("drop_character", "add_character"))
    print("\n" + _report(bench), bench.presence_cases)
    assert _cases(bench, "keyframe") == {"drop_character": PRESENCE_SAMPLE, "add_character": PRESENCE_SAMPLE}
    assert len(bench.presence_cases) == PRESENCE_SAMPLE
    broken = [*failures(bench.tally.rows, "keyframe"), *presence_failures(bench.presence_cases)]
    assert not broken, broken


def test_drift_sees_a_chain_slowly_softening_and_a_character_fading(example_master, tmp_path):
    """Issue 20 item 5: 20-shot chains checked every 5th shot by tasks/gates/drift.py's measure at the
    film's threshold: clean ones (re-encoded each cut) never re-anchor; one blurred sigma 0.5
    more each shot always does (its fine detail, against the picture it descends from, falls to
    about a fifth by the 5th shot); one whose character fades 8% a shot into the plate always
    does — whoever fades: a diner character dressed in the set's colours is measured where the
    frame is not the plate (a foreground member)."""
    from slate.manifests.settings import project_settings
    bench = Bench(example_master, tmp_path, seed=SEED)
    bench.drift(Sample(N, DRIFT_SAMPLE), project_settings(example_master).drift_threshold, {"clean", *DRIFT_FAULTS})
    print("\n" + _report(bench))
    assert _cases(bench, "drift") == {kind: DRIFT_SAMPLE for kind in ("clean", *DRIFT_FAULTS)}
    assert len([c for c in bench.drift_cases if c["kind"] == "fading"]) == DRIFT_SAMPLE
    broken = [*failures(bench.tally.rows, "drift"), *fading_failures(bench.drift_cases)]
    assert not broken, broken


def test_someone_dressed_in_the_sets_colours_is_told_where_the_frame_is_not_the_plate(example_master, tmp_path):
    """Diner 1D (Gabe and Jenny, close): every colour either wears is on the stools, the floor,
    the lamps or on the other, so neither has a colour of their own. Each is a foreground
    member, looked for only where the frame is not the plate: in the clean panel (graded, as a
    take comes) both read present; with one of them painted out, the one gone reads absent and
    the other still present. Looked for anywhere in the frame, as before, the set's colours read
    as the one who is gone (the contrast asserted last)."""
    from dataclasses import replace

    from PIL import Image

    from benchmarks.gate_corpus import fault_panel, photometric
    from slate.media import presence
    from slate.tasks.gates.keyframes import cast_of
    bench = Bench(example_master, tmp_path, seed=SEED)
    plan = next(p for p in bench.plans if p.shot == "1D")
    req = replace(plan.panel_request("start", 1), seed=11_001)
    assert {c.id for c in req.characters} == {"gabe", "jenny"}
    cast = cast_of(bench.cast_of(req), (90, 160))
    assert cast.members["gabe"].foreground and cast.members["jenny"].foreground, cast

    def small(img):
        return np.asarray(img.convert("RGB").resize((160, 90), Image.BOX))

    rng = np.random.default_rng([11, 20])
    clean = bench.painter.draw(req)
    start = small(clean)
    seen = cast.presence(small(photometric(clean, "brighter", rng))[None], start)
    assert min(float(seen[c][0]) for c in ("gabe", "jenny")) >= presence.PRESENT, seen
    anywhere_members = {k: replace(m, foreground=False) for k, m in cast.members.items()}
    anywhere = presence.Cast(anywhere_members, cast.unseen, None)
    for gone, kept in (("gabe", "jenny"), ("jenny", "gabe")):
        edited, _ = fault_panel(bench.props, req, clean, "missing", rng, only={gone})
        frame = small(edited)[None]
        seen = cast.presence(frame, start)
        assert float(seen[gone][0]) < presence.PRESENT <= float(seen[kept][0]), (gone, seen)
        # Looked for anywhere in the frame, the set's colours read as the one who is gone.
        assert float(anywhere.presence(frame, start)[gone][0]) >= presence.PRESENT, (gone, seen)


# --- issue 20: takes with nothing in them, small recolours, cuts onto no frame of the shot ------

def test_blank_takes_and_small_recolours_fail_the_panel_gate_and_clean_ones_pass(example_master, tmp_path):
    """Issue 20: clean panels with the photometric spread, and of each new kind — a flat fill
    (black, white, mid-grey, one colour), washed out (contrast x0.2), noise σ40, and one figure's
    hair hue turned 20°, its hair lightness moved 18 L*, or its outfit hue turned 30°. Before
    issue 20 the flat, washed-out and noisy takes all passed (every score 1.000), and the local
    judge's free grade hid most recolours."""
    bench = Bench(example_master, tmp_path, seed=SEED)
    sample = Sample(N, PANEL_SAMPLE)
    bench.clean_panels(sample)
    bench.blank_panels(sample)
    print("\n" + _report(bench))
    assert _cases(bench, "panel") == {kind: PANEL_SAMPLE for kind in ("clean", *BLANK_PANELS, *RECOLOUR_PANELS)}
    broken = failures(bench.tally.rows, "panel")
    assert not broken, broken
    assert list(tmp_path.iterdir()) == []


@CLIPS_GROUP
@pytest.mark.e2e
def test_a_cut_onto_a_flat_picture_a_star_field_or_a_photograph_fails_continuity(clip_bench):
    """Issue 20: the first frame after a cut is a flat fill, a near-black star-field (which
    passed at location 0.93, identity 0.93-0.98 before) or a procedurally made landscape photo
    unrelated to the film, beside clean cuts."""
    bench, clips = _fresh(clip_bench)
    sample = Sample(N, CONTINUITY_SAMPLE)
    bench.clean_cuts(sample, clips)
    bench.blank_cuts(sample, clips)
    print("\n" + _report(bench))
    assert _cases(bench, "continuity") == {kind: CONTINUITY_SAMPLE for kind in ("clean", *CUT_KINDS)}
    broken = failures(bench.tally.rows, "continuity")
    assert not broken, broken


# --- issue 36: the whole clip, for who and what is in it ----------------------------------------

@CLIPS_GROUP
@pytest.mark.e2e
def test_a_clip_of_another_size_repeated_frames_a_flash_a_jump_a_stop_or_a_change_fails_a_dark_grade_passes(
        clip_bench):
    """Issue 36 item 3, through the whole keyframe gate (the judge beside tasks/gates/keyframes.py
    own_scores), WHOLE_CLIP_SAMPLE of each kind: one character's hair or outfit repainted from
    partway on, the clip at another size than the shot's (640x360, 1280x720, 960x540, 720x480
    for 854x480), every other frame shown twice, 0.3 s of another shot of the same set, a figure
    jumping sideways just after the middle frame, a move frozen for its last fifth — each passed
    the gate in few-case trials before — and a clip darkened on purpose, which must pass (it read
    as "named for the shot but in none of its frames")."""
    bench, clips = _fresh(clip_bench)
    bench.whole_clip(Sample(N // 2, WHOLE_CLIP_SAMPLE), clips)
    print("\n" + _report(bench))
    assert _cases(bench, "keyframe") == {kind: WHOLE_CLIP_SAMPLE for kind in WHOLE_CLIP_KINDS}
    broken = failures(bench.tally.rows, "keyframe")
    assert not broken, broken

BIBLE_SAMPLE = 2   # 20-shot chains of each bible drift kind (issue 36), clean included


def test_drift_holds_each_character_the_light_and_the_framing_to_the_bible(example_master, tmp_path):
    """Issue 36 item 1: chains whose one character's hair, skin or outfit turns 3-5 degrees a
    shot, or whose lightness moves 2.5-4 L* a shot, whose light drains x0.90-0.94 a shot, or
    whose framing creeps 3.5-5% closer a shot (cropped, or re-rendered without losing detail)
    re-anchor; clean chains do not. A slow part drift is named: the reason says whose part."""
    from benchmarks.gate_corpus import BIBLE_DRIFTS
    from slate.manifests.settings import project_settings
    bench = Bench(example_master, tmp_path, seed=SEED)
    bench.drift(Sample(N, BIBLE_SAMPLE), project_settings(example_master).drift_threshold, {"clean", *BIBLE_DRIFTS})
    print("\n" + _report(bench))
    assert _cases(bench, "drift") == {kind: BIBLE_SAMPLE for kind in ("clean", *BIBLE_DRIFTS)}
    broken = failures(bench.tally.rows, "drift")
    assert not broken, broken
    # a part turning 3-5 degrees a shot is past the 12 degree cut by the 5th shot: caught by that check
    hue = {k: bench.drift_caught[k] for k in ("hair_drift", "skin_drift", "outfit_drift")}
    assert all(shot == 5 for shots in hue.values() for shot in shots), hue


@CLIPS_GROUP
def test_a_chained_clip_is_held_to_the_bible_not_only_to_its_start(clip_bench):
    """Issue 36 item 2: a chained clip started from a frame whose one character's hair, skin or
    outfit has turned 20-30 degrees (or moved 12-18 L*) from the chain's first panel fails the
    keyframe gate, though it matches its start; clean clips judged as chained pass."""
    bench, clips = _fresh(clip_bench)
    bench.keyframes(Sample(N, BIBLE_SAMPLE), clips, {"clean", "chain_drift"})
    print("\n" + _report(bench))
    assert _cases(bench, "keyframe") == {"clean": BIBLE_SAMPLE, "chain_drift": BIBLE_SAMPLE}
    broken = failures(bench.tally.rows, "keyframe")
    assert not broken, broken
    # failed by the bible's own scores, naming the one who drifted (not only by presence or another)
    assert [c for c in bench.bible_cases if not c["named"]] == [], bench.bible_cases
# --- issue 36: small text and marks a model adds -----------------------------------------------

def test_a_corner_caption_fails_the_panel_gate_naming_the_corner(example_master, tmp_path):
    """Issue 36 item 4: a caption, a signature or a model's name in a corner of a medium or wide
    panel, its box 0.5-1% of the frame, in PIL's default font, with the clean takes' photometric
    spread — one in each corner — beside clean panels. Before the `marks` score 5 of 24 such
    captions passed (artefacts 0.9972-0.9990 against 0.997; the benchmark's corpus at seed 7:
    30 of 40 passed). Each must fail on `marks` with its corner named."""
    bench = Bench(example_master, tmp_path, seed=SEED)
    sample = Sample(N, MARK_SAMPLE)
    bench.clean_panels(sample)
    bench.mark_panels(sample)
    print("\n" + _report(bench), bench.mark_cases)
    assert _cases(bench, "panel") == {"clean": MARK_SAMPLE, "corner_text": MARK_SAMPLE}
    assert sorted(c["corner"] for c in bench.mark_cases) == sorted(CORNERS)
    broken = [*failures(bench.tally.rows, "panel"), *mark_failures(bench.mark_cases, "panel")]
    assert not broken, broken
    assert list(tmp_path.iterdir()) == []


@CLIPS_GROUP
@pytest.mark.e2e
def test_a_caption_on_a_keyframe_and_a_watermark_through_a_clip_fail_the_keyframe_gate(clip_bench):
    """Issue 36 item 4: a caption in a corner of a clip's middle or last frame, and a watermark
    at one place in every frame of a clip (graded, re-encoded, judged by the whole keyframe
    gate) — "KLING AI" in a corner passed 6 of 6 before. One of each in each corner; each must
    fail on `marks` with its corner named. (Clean keyframe sets are held with the marks score by
    test_keyframe_gate_on_the_edited_corpus.)"""
    bench, clips = _fresh(clip_bench)
    bench.mark_keyframes(Sample(N, MARK_SAMPLE), clips)
    print("\n" + _report(bench), bench.mark_cases)
    assert _cases(bench, "keyframe") == {"corner_text": MARK_SAMPLE, "watermark": MARK_SAMPLE}
    broken = [*failures(bench.tally.rows, "keyframe"), *mark_failures(bench.mark_cases, "keyframe")]
    assert not broken, broken


# --- issue 56: the keyframe gate where it was weak ---------------------------------------------

HITCH_SAMPLE = 2   # of each of issue 56's kinds (of the benchmark's N), beside as many clean sets


@CLIPS_GROUP
@pytest.mark.e2e
def test_dropped_frames_a_stutter_and_a_colour_turning_midway_fail_on_their_own_names(clip_bench):
    """Issue 56 item 6, through the whole keyframe gate: 3-6 of a moving clip's 36 frames
    dropped at random places (it jumps ahead; found from outside passing 3 of 4, clip_cadence
    0.67-0.76), a stutter (2-4 frames held 1-3 more frames, then the picture jumping on; failed
    only as "a flash of another picture" before), and one character's hair or outfit turning 30°
    of Lab hue midway through a start-only clip (passed 3 of 6). Each fails on the score of its
    kind — `clip_stutter`, and not as a flash; `clip_identity` or `clip_likeness` naming whose
    colour turned — and the clean sets beside them pass. Frames dropped are held to no bar
    here (`clip_dropped` warns: read on the picture's measured move it catches about four in
    five, under the gates' bar; benchmarks/cadence.py), and a dropped case it names must be named
    as dropped."""
    from benchmarks.gate_corpus import TAKE_HITCHES
    bench, clips = _fresh(clip_bench)
    sample = Sample(N, HITCH_SAMPLE)
    bench.keyframes(sample, clips, {"clean"})
    bench.hitches(sample, clips)
    print("\n" + _report(bench), bench.hitch_cases)
    assert _cases(bench, "keyframe") == {kind: HITCH_SAMPLE for kind in ("clean", *TAKE_HITCHES)}
    broken = failures(bench.tally.rows, "keyframe", {"clean", *TAKE_HITCHES} - {"dropped_frames"})
    assert not broken, broken
    assert [c for c in bench.hitch_cases if not c["named"] and c["kind"] != "dropped_frames"] == [], bench.hitch_cases
    assert all(c["named"] for c in bench.hitch_cases if c["kind"] == "dropped_frames" and c["flagged"]), bench.hitch_cases


def test_clean_swaying_dollies_easing_in_and_out_are_no_stutter():
    """Issue 56: a hold in a move measured brisk (`PLACED_PX`: 1.5 of the clip's px a frame, into
    the hold and over its catch-up) is a stutter however unevenly its luma steps. Two clean dollies
    of `benchmarks.cadence --sway` (seed 41) step none where they ease: 8 after its slow start,
    63 a frame from its end after steps of about a pixel. Both pass `clip_stutter`; read on the
    median of the ten steps each side of the hold at a pixel a frame (both), or at half a pixel
    a frame (63), they failed."""
    from benchmarks.cadence import LENGTHS, cases
    made = list(cases(64, 41, LENGTHS, sway=True, only={8, 63}, clean_only=True))
    assert [kind for kind, _, _ in made] == ["clean", "clean"]
    assert all("clip_stutter" not in failing for _, _, failing in made), made
