"""The local judge held on a corpus it was not tuned for (benchmarks/gates.py), at a small N.

Clean panels and clips from the local provider with the changes a gate must let through
(exposure ±10–30%, gamma, JPEG q15–35, a slight blur, noise), and faults made by editing that
output after drawing — heads replaced or swapped, places swapped, hair or torso recoloured, the
plate replaced or shifted, a figure removed or added, a reframing, blotches, stripes, decoder
garbage, clips whose second half is another shot. Bar (issue 9): at least 95% of faults caught
and at most 5% of clean takes failed, each verdict held to the gate policy. The benchmark runs
the same corpus at N=200; here the panel test uses N=14 per kind (112 panels) and the keyframe
test 12 clean clips rendered by ffmpeg (9 with the shot's move, 3 with a dolly whatever the
shot asked) judged as 27 clean keyframe sets and 27 spliced ones, and 9 off-model clips; the
continuity test 12 clean cuts and 12 of each fault kind.
"""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.gate_corpus import PHOTOMETRIC
from benchmarks.gates import Bench


def _rates(bench: Bench, gate: str):
    rows = {kind: row for (g, kind), row in bench.tally.rows.items() if g == gate}
    clean = rows.pop("clean")
    caught = sum(r["flagged"] for r in rows.values())
    total = sum(r["cases"] for r in rows.values())
    return clean, rows, caught / total


def _report(bench: Bench) -> str:
    import json
    return "\n".join(json.dumps(line) for line in bench.tally.lines())


def test_panel_gate_on_the_edited_corpus(example_master, tmp_path):
    bench = Bench(example_master, tmp_path, seed=11)
    bench.panels(14)
    clean, faults, detected = _rates(bench, "panel")
    print("\n" + _report(bench))
    assert clean["cases"] == 14 and sorted(faults) == sorted(
        ["identity", "wardrobe", "location", "missing", "extra", "framing", "artifacts"])
    assert clean["flagged"] / clean["cases"] <= 0.05, clean["examples"]
    assert detected >= 0.95, {k: r["examples"] for k, r in faults.items()}
    for kind, row in faults.items():
        assert row["flagged"] >= row["cases"] - 1, (kind, row["examples"])
    assert list(tmp_path.iterdir()) == []  # nothing generated is left behind


@pytest.mark.e2e
def test_keyframe_gate_on_the_edited_corpus(example_master, tmp_path):
    bench = Bench(example_master, tmp_path, seed=11)
    clips = bench.clips(12)
    bench.keyframes(27, clips)
    clean, faults, detected = _rates(bench, "keyframe")
    print("\n" + _report(bench))
    assert clean["cases"] == 27 and faults["partway"]["cases"] == 27
    assert clean["flagged"] / clean["cases"] <= 0.05, clean["examples"]
    assert faults["partway"]["flagged"] / faults["partway"]["cases"] >= 0.95, faults["partway"]["examples"]
    # Issue 20: clips animated from an off-model panel, each fault kind of the panel corpus, held
    # on their own (a wide shot's replaced head was missed at 7 of 9 when only pooled with partway).
    assert faults["off_model"]["cases"] == 9
    assert faults["off_model"]["flagged"] / faults["off_model"]["cases"] >= 0.95, (
        faults["off_model"]["by_edit"], faults["off_model"]["examples"])
    assert detected >= 0.95, {k: r["examples"] for k, r in faults.items()}


@pytest.mark.e2e
def test_continuity_gate_on_the_edited_corpus(example_master, tmp_path):
    """Cuts between shots that share a place or someone: the last frame of a clip rendered by
    ffmpeg against the next shot's first frame (every other one a camera move under way), clean
    with the photometric spread, and 12 each with the later frame's location, or the face, the
    outfit or the presence of someone in both shots edited. The colour measure alone failed
    3/30 clean (gamma-shifted) cuts and caught 0/6 face and 0/6 outfit changes."""
    bench = Bench(example_master, tmp_path, seed=11)
    clips = bench.clips(12)
    bench.continuity(12, clips)
    clean, faults, detected = _rates(bench, "continuity")
    print("\n" + _report(bench))
    assert clean["cases"] == 12 and sorted(faults) == ["identity", "location", "missing", "wardrobe"]
    assert all(row["cases"] == 12 for row in faults.values())
    assert clean["flagged"] / clean["cases"] <= 0.05, clean["examples"]
    assert detected >= 0.95, {k: r["examples"] for k, r in faults.items()}
    for kind, row in faults.items():
        assert row["flagged"] >= row["cases"] - 1, (kind, row["examples"])


def test_drift_gate_lets_re_encoded_chains_through_and_catches_repainted_ones(example_master, tmp_path):
    """Issue 9 item 5: 20-shot chains, each cut re-encoded (JPEG q85-95, exposure ±1%), checked
    every 5th shot by tasks/drift.py's measure at the film's drift_threshold; the drifting ones
    are also slowly repainted (hue 2-4 degrees a shot) and softened. 10 chains of each, seed 11
    (the benchmark's figures were taken at seed 7): no clean chain may re-anchor (<= 5%) and every
    drifting one must (>= 95%). The former RGB-histogram colour distance re-anchored 97% of
    clean chains."""
    from slate.manifests.settings import project_settings
    bench = Bench(example_master, tmp_path, seed=11)
    bench.drift(10, project_settings(example_master).drift_threshold)
    clean, drifting, detected = _rates(bench, "drift")
    print("\n" + _report(bench))
    assert clean["cases"] == 10 and drifting["drift"]["cases"] == 10
    assert clean["flagged"] / clean["cases"] <= 0.05, clean["examples"]
    # The repainted chains; the slow kinds bench.drift also makes (softening, fading) are held by
    # test_drift_sees_a_chain_slowly_softening_and_a_character_fading.
    repainted = drifting["drift"]
    assert repainted["flagged"] / repainted["cases"] >= 0.95, repainted["examples"]


def test_drift_measure_reads_an_overall_hue_turn_and_not_exposure_jpeg_or_layout():
    """tasks/drift.py's measure on a small made picture of colour patches: turned 10 degrees (HSV)
    in hue it is past the 0.35 threshold (the hue term: its colour cast alone stays under); made
    4% brighter and re-encoded at JPEG q85 it stays well under; with its patches in other places
    (a chained shot's figures standing elsewhere than in its panel: the same colours, another
    layout) its colour stays under too."""
    import io

    import numpy as np
    from PIL import Image, ImageFilter

    from slate.tasks.drift import measure
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
    from slate.tasks.drift import measure
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
    frame was held figure by figure to the start image."""
    bench = Bench(example_master, tmp_path, seed=11)
    plan = next(p for p in bench.plans if p.shot == "1A")   # a wide shot of Nina alone
    assert plan.panel_request("start", 1).framing == "wide"
    rng = np.random.default_rng([11, 20])
    verdicts = []
    for i in range(6):
        clip = bench.clip(plan, 11_000 + i, "static" if plan.camera_fixed else plan.movement, fault=("identity", rng))
        verdicts.append(bench.keyframe_case(clip, clip["frames"], "off_model", "identity", rng, "none",
                                            clip_file=clip["file"]))
        bench.done([clip])
    assert all(not v["passed"] for v in verdicts), _report(bench)
    for v in verdicts:   # failed where the face is, naming whose
        assert any(s["name"] in ("identity", "identity_colour") and not s["passed"] and "nina" in s["reason"]
                   for s in v["scores"]), v["scores"]


# --- issue 20: the whole clip, and slow losses -------------------------------------------------

@pytest.fixture(scope="module")
def clip_bench(example_master, tmp_path_factory):
    """One clean clip of each of the example's nine shots (with the shot's own move), seed 11
    (the benchmark's figures are taken at seed 7), shared by the whole-clip tests below."""
    bench = Bench(example_master, tmp_path_factory.mktemp("clips"), seed=11)
    clips = bench.clips(9)
    yield bench, clips
    bench.done(clips)


@pytest.mark.e2e
def test_clean_clips_pass_the_whole_keyframe_gate(clip_bench):
    """Issue 20 items 3-4: clean clips, each graded over all its frames (exposure, gamma, JPEG,
    blur, grain), pass the judge and slate's own checks of the whole clip (<= 5% failed)."""
    bench, clips = clip_bench
    rng = np.random.default_rng([11, 8])
    for i in range(12):
        clip = clips[i % len(clips)]
        op = PHOTOMETRIC[(i + 3) % len(PHOTOMETRIC)]
        bench.keyframe_case(clip, clip["frames"], "clean", clip["movement"], rng, op, clip_file=bench.graded(clip, op))
    row = bench.tally.rows[("keyframe", "clean")]
    print("\n" + _report(bench))
    assert row["cases"] == 12 and row["flagged"] / row["cases"] <= 0.05, row["examples"]


def _whole_clip(clip_bench, kinds) -> tuple[dict[str, str], dict[str, list]]:
    """Faults the judge's three frames miss, made by editing a clean clip's frames, graded like
    clean output, re-encoded and judged by the whole keyframe gate (tasks/keyframes.py
    own_scores beside the judge): four of each kind. Returns "caught/cases" per kind, and the
    cases each kind let through."""
    bench, clips = clip_bench
    bench.tally.rows.clear()
    bench.clip_faults(4, clips, kinds)
    rows = {kind: row for (g, kind), row in bench.tally.rows.items() if g == "keyframe"}
    print("\n" + _report(bench))
    return ({kind: f"{row['flagged']}/{row['cases']}" for kind, row in rows.items()},
            {kind: row["examples"] for kind, row in rows.items()})


@pytest.mark.e2e
def test_black_and_flat_spans_between_the_keyframes_are_caught(clip_bench):
    """Issue 20 item 4: black frames over 20-40% of the clip (never on a keyframe), a clip turning
    one flat colour from its middle, a whole flat clip of a static shot. Before the dailies (the
    benchmark at --n 100, seed 7): 0/25 of each caught."""
    caught, missed = _whole_clip(clip_bench, ("black_span", "flat_span", "flat_static"))
    assert caught == {"black_span": "4/4", "flat_span": "4/4", "flat_static": "4/4"}, missed


@pytest.mark.e2e
def test_a_stopped_move_and_a_cast_over_the_clip_are_caught(clip_bench):
    """Issue 20 item 4: a start-only clip whose camera move stops partway (35-60% in), a warm cast
    (R x1.15, B x0.8) over the whole clip. Before: 0/25 and 0/25."""
    caught, missed = _whole_clip(clip_bench, ("move_stops", "warm_cast"))
    assert caught == {"move_stops": "4/4", "warm_cast": "4/4"}, missed


@pytest.mark.e2e
def test_a_clip_drowned_in_noise_is_caught(clip_bench):
    """Issue 20 item 4: noise sigma 60 on every frame (re-encoded: the encoder turns it into
    blotches that boil from frame to frame). Before: 2/25."""
    caught, missed = _whole_clip(clip_bench, ("noise60",))
    assert caught == {"noise60": "4/4"}, missed


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
    bench, clips = clip_bench
    bench.tally.rows.clear()
    bench.presence_cases.clear()
    bench.clip_faults(8, clips, ("drop_character", "add_character"))
    faults = {kind: row for (g, kind), row in bench.tally.rows.items() if g == "keyframe"}
    print("\n" + _report(bench), bench.presence_cases)
    added, dropped = faults["add_character"], faults["drop_character"]
    assert added["flagged"] == added["cases"] == 8, added["examples"]
    assert dropped["cases"] == 8 and len(bench.presence_cases) == 8
    assert all(c["gone"] and c["told"] and c["flagged"] and c["named"] for c in bench.presence_cases), \
        (dropped["examples"], bench.presence_cases)
    assert any(c["foreground"] for c in bench.presence_cases), bench.presence_cases


def test_drift_sees_a_chain_slowly_softening_and_a_character_fading(example_master, tmp_path):
    """Issue 20 item 5: 20-shot chains checked every 5th shot by tasks/drift.py's measure at the
    film's threshold: clean ones (re-encoded each cut) never re-anchor; one blurred sigma 0.5
    more each shot always does (its fine detail, against the picture it descends from, falls to
    about a fifth by the 5th shot); one whose character fades 8% a shot into the plate always
    does — whoever fades: a diner character dressed in the set's colours is measured where the
    frame is not the plate (a foreground member). Seed 11."""
    from slate.manifests.settings import project_settings
    bench = Bench(example_master, tmp_path, seed=11)
    bench.drift(8, project_settings(example_master).drift_threshold)
    rows = {kind: row for (g, kind), row in bench.tally.rows.items() if g == "drift"}
    print("\n" + _report(bench))
    assert rows["clean"]["flagged"] == 0, rows["clean"]["examples"]
    assert rows["softening"]["flagged"] == rows["softening"]["cases"] == 8, rows["softening"]["examples"]
    fading = [c for c in bench.drift_cases if c["kind"] == "fading"]
    assert len(fading) == 8 and all(c["told"] and c["flagged"] for c in fading), (rows["fading"]["examples"], fading)


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
    from slate.tasks.keyframes import cast_of
    bench = Bench(example_master, tmp_path, seed=11)
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
    """Issue 20 at a small N on seed 11 (the benchmark's figures are at seed 7): 20 clean panels
    with the photometric spread, and 20 of each new kind — a flat fill (black, white, mid-grey,
    one colour), washed out (contrast x0.2), noise σ40, and one figure's hair hue turned 20°, its
    hair lightness moved 18 L*, or its outfit hue turned 30°. Each kind at least 95% caught
    (19 of 20), clean at most 5% failed (1 of 20). Before issue 20 the flat, washed-out and noisy
    takes all passed (every score 1.000), and the local judge's free grade hid most recolours."""
    bench = Bench(example_master, tmp_path, seed=11)
    bench.clean_panels(20)
    bench.blank_panels(20)
    clean, faults, _ = _rates(bench, "panel")
    print("\n" + _report(bench))
    assert clean["cases"] == 20 and clean["flagged"] <= 1, clean["examples"]
    assert sorted(faults) == sorted(["flat", "washed_out", "noise", "hair_hue", "hair_lightness", "outfit_hue"])
    for kind, row in faults.items():
        assert row["cases"] == 20 and row["flagged"] >= 19, (kind, row["by_edit"], row["examples"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.e2e
def test_a_cut_onto_a_flat_picture_a_star_field_or_a_photograph_fails_continuity(example_master, tmp_path):
    """Issue 20: the first frame after a cut is a flat fill, a near-black star-field (which
    passed at location 0.93, identity 0.93-0.98 before) or a procedurally made landscape photo
    unrelated to the film: 20 of each on seed 11, each kind at least 95% caught, beside 12 clean
    cuts (at most 5% failed, so none)."""
    bench = Bench(example_master, tmp_path, seed=11)
    clips = bench.clips(12)
    bench.clean_cuts(12, clips)
    bench.blank_cuts(20, clips)
    clean, faults, _ = _rates(bench, "continuity")
    print("\n" + _report(bench))
    assert clean["cases"] == 12 and clean["flagged"] == 0, clean["examples"]
    assert sorted(faults) == ["flat_first", "photograph", "star_field"]
    for kind, row in faults.items():
        assert row["cases"] == 20 and row["flagged"] >= 19, (kind, row["by_edit"], row["examples"])
