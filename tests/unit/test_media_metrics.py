"""media.metrics and media.contact: numbers behave as documented; sheets are deterministic."""


import numpy as np
import pytest
from PIL import Image

from slate.media import (ContactEntry, colour_distance, colour_stats, contact_sheet, load_rgb,
                         mean_rgb_distance, sharpness_noise, ssim)
from slate.media.contact import sheet_size


def _scene(h=480, w=854):
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([(x * 255 // w), (y * 255 // h), ((x // 40 + y // 40) % 2) * 200 + 20], -1)
    return img.astype(np.uint8)


def _noisy(img, sigma, seed=0):
    n = np.random.default_rng(seed).normal(0, sigma, img.shape)
    return np.clip(img.astype(float) + n, 0, 255).astype(np.uint8)


def test_ssim_properties():
    a = _scene()
    assert ssim(a, a) == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    n1, n2 = (rng.integers(0, 256, a.shape, dtype=np.uint8) for _ in range(2))
    assert ssim(n1, n2) < 0.2
    scores = [ssim(a, _noisy(a, s)) for s in (5, 20, 60)]
    assert scores[0] > scores[1] > scores[2]
    # different size is resized, PIL input accepted
    assert ssim(Image.fromarray(a), Image.fromarray(a).resize((427, 240))) > 0.8
    # Its speed is measured by benchmarks/metrics.py, not asserted here (a loaded machine is no clock).


def test_colour_stats_and_distances():
    a = _scene()
    s = colour_stats(a)
    assert s["hist"].shape == (8, 8, 8) and s["hist"].sum() == pytest.approx(1.0) and s["count"] == a.shape[0] * a.shape[1]
    assert colour_distance(s, colour_stats(a.copy())) == 0.0 and mean_rgb_distance(s, s) == 0.0
    recoloured = a[..., ::-1].copy()
    slightly = np.clip(a.astype(int) + 10, 0, 255).astype(np.uint8)
    d_big, d_small = colour_distance(s, colour_stats(recoloured)), colour_distance(s, colour_stats(slightly))
    assert 0 < d_small < d_big <= 1
    assert mean_rgb_distance(s, colour_stats(slightly)) == pytest.approx(np.sqrt(3) * 10, abs=1.5)
    mask = np.zeros(a.shape[:2], bool)
    mask[:, :100] = True
    m = colour_stats(a, mask)
    assert m["count"] == 480 * 100 and m["mean"][0] < s["mean"][0]
    assert colour_stats(a, np.zeros(a.shape[:2], bool))["count"] == 0


def test_sharpness_noise_and_load():
    a = _scene()
    assert sharpness_noise(_noisy(a, 25)) > 3 * sharpness_noise(a)
    assert sharpness_noise(np.full((50, 50, 3), 128, np.uint8)) == 0.0
    assert load_rgb(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)
    assert load_rgb(Image.new("RGBA", (5, 4))).shape == (4, 5, 3)


def test_contact_sheet_grid_and_determinism(tmp_path):
    img = tmp_path / "t.png"
    Image.fromarray(_scene(96, 160)).save(img)
    entries = [ContactEntry("1A take 1", img, "pass"), ContactEntry("1B take 2", img, "fail", "ssim 0.41"),
               ContactEntry("1C take 2", img, "escalated", "budget"), ContactEntry("2A", None, "missing")]
    a = contact_sheet(entries, tmp_path / "a.png", columns=3, thumb_width=160)
    b = contact_sheet(entries, tmp_path / "b.png", columns=3, thumb_width=160)
    assert a.read_bytes() == b.read_bytes()
    im = Image.open(a)
    assert im.size == sheet_size(4, columns=3, thumb_width=160)
    assert im.size == (3 * (160 + 8) + 8, 2 * (90 + 18 + 20 + 8) + 8)
    px = im.convert("RGB")
    # verdict bar colours: first cell green, second red, third orange, fourth grey
    bar_y = 8 + 90 + 18 + 17
    assert px.getpixel((8 + 150, bar_y)) == (46, 160, 67)
    assert px.getpixel((8 + 168 + 150, bar_y)) == (200, 40, 40)
    assert px.getpixel((8 + 2 * 168 + 150, bar_y)) == (235, 140, 20)
    assert px.getpixel((8 + 150, bar_y + 136)) == (128, 128, 128)


def test_colour_counts_are_numpys_row_unique_in_the_same_order():
    """media.palette packs each colour into one integer for a fast 1-D unique: the colours, their
    counts and their order must be exactly those of a unique over RGB rows (the gates' shares
    and the painter's dominant colour are read from them)."""
    from slate.media.palette import colour_counts
    rng = np.random.default_rng(7)
    cases = [rng.integers(0, 256, (5000, 3), dtype=np.uint8),            # many colours, high bytes set
             (rng.integers(0, 3, (64, 64, 3)) * 127).astype(np.uint8),  # a flat drawing's few colours, as an image
             np.array([[0, 0, 255], [0, 255, 0], [255, 0, 0], [0, 0, 255]], dtype=np.uint8),
             np.zeros((0, 3), dtype=np.uint8)]
    for px in cases:
        want_colours, want_counts = np.unique(px.reshape(-1, 3), axis=0, return_counts=True)
        colours, counts = colour_counts(px)
        assert colours.dtype == np.uint8
        assert np.array_equal(colours, want_colours) and np.array_equal(counts, want_counts)
    with pytest.raises(TypeError, match="8-bit"):
        colour_counts(np.zeros((4, 3), dtype=np.float32))


def test_presence_on_a_flat_start_warns_nothing_and_reads_its_gain():
    """A start picture flat in a channel (a plain wall, a fake provider's one-colour clip) left
    numpy's polyfit one x to fit a line through: a RankWarning a frame (1,176 lines in one run's
    terminal) and a made-up gamma. Now its gain alone is read, silently."""
    import warnings

    from slate.media.presence import Cast
    figure = np.zeros((40, 20, 4), np.uint8)
    figure[5:35, 5:15] = (200, 40, 40, 255)                     # a red figure on nothing
    cast = Cast.of({"gabe": figure}, None, {"gabe"})
    start = np.full((36, 64, 3), 100, np.uint8)                 # flat: every quantile the same level
    frames = np.full((3, 36, 64, 3), 120, np.uint8)             # the same, 20% brighter
    frames[:, 8:30, 20:32] = (240, 48, 48)                      # and the figure, graded alike
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        seen = cast.presence(frames, start)
    assert [str(w.message) for w in said] == []
    assert all(v > 0 for v in seen["gabe"])                     # the figure is still read, through the gain


def _walk_in(n: int, from_frame: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 2 s clip of `n` frames on a grey ramp, a figure (green over blue, 40 % of the frame tall)
    standing in it from frame `from_frame` on; and the figure as its turnaround's RGBA."""
    h, w = 120, 160
    ground = np.repeat(np.linspace(40, 220, w, dtype=np.uint8)[None, :, None], h, 0).repeat(3, 2)
    figure = np.zeros((48, 24, 4), np.uint8)
    figure[:24, :, :3], figure[24:, :, :3], figure[..., 3] = (30, 160, 60), (40, 60, 200), 255
    frames = np.stack([ground] * n)
    frames[from_frame:, 60:108, 70:94] = figure[..., :3]
    return frames, np.arange(n) * (2.0 / n), figure


def test_a_character_who_enters_is_looked_for_in_the_clips_last_part_only():
    """Issue 35: a shot's `enters` character walks in partway — absent from its first frames (a
    chain's start never shows them), there by its end. Named without `enters` they fail the
    presence check for the frames before; with it they pass, and fail only if they never come."""
    from slate.media.presence import Cast, presence_scores

    frames, times, figure = _walk_in(20, 13)   # in from 1.3 s of 2 s: 35 % of the clip
    cast = Cast.of({"leo": figure}, None, {"leo"})

    def present(entering, clip=frames):
        return next(s for s in presence_scores(cast, clip, times, 2.0, clip[0], ["leo"], entering=entering)
                    if s["name"] == "present")

    named = present(None)
    assert not named["passed"] and "leo is named for the shot but missing from 0.00–1.30 s" in named["reason"], named
    entered = present(["leo"])
    assert entered["passed"] and "leo enters the shot and is in 100% of its frames from 80% of the clip on" in \
        entered["reason"], entered
    never = present(["leo"], _walk_in(20, 20)[0])
    assert not never["passed"] and "leo enters the shot but is in none of its frames from 80% of the clip on" in \
        never["reason"], never


def test_presences_levels_are_numpys_quantiles_read_off_each_frames_histogram():
    """Each frame's tones are levelled on its quantiles per channel; read off 8-bit histograms
    (media.presence._quantiles), they are numpy's own, frame by frame, exactly."""
    from slate.media.presence import GRADE_QUANTILES, _quantiles
    rng = np.random.default_rng(5)
    frames = rng.integers(0, 256, (4, 9, 13, 3), dtype=np.uint8)
    frames[1] = 77                                               # a flat frame
    frames[2, ..., 0] = rng.integers(250, 256, (9, 13))          # a channel near clipping
    want = np.quantile(frames.reshape(4, -1, 3).astype(np.float32), GRADE_QUANTILES, axis=1)
    assert np.allclose(_quantiles(frames), want, rtol=0, atol=1e-9)


def test_a_patch_too_small_in_every_frame_is_nobody_however_many_frames_repeat_it():
    """Presence looks at a clip's frames as one stack; a patch is a patch within one frame. A
    signature-coloured speck of 3 pixels (MIN_PATCH is 6) at the same place in every frame is
    grain, not someone — joined across frames it would have been a patch of 3 x frames."""
    from slate.media.presence import MIN_PATCH, Cast
    figure = np.zeros((40, 20, 4), np.uint8)
    figure[5:35, 5:15] = (200, 40, 40, 255)
    cast = Cast.of({"gabe": figure}, None, {"gabe"})
    frames = np.full((4, 36, 64, 3), 128, np.uint8)
    frames[:, 10, 10:13] = (200, 40, 40)                          # 3 pixels a frame, 12 in the stack
    assert 3 < MIN_PATCH <= 12
    assert all(v == 0 for v in cast.presence(frames)["gabe"])
    frames[2, 11, 10:13] = (200, 40, 40)                          # frame 2: a patch of 6
    seen = cast.presence(frames)["gabe"]
    assert seen[2] > 0 and seen[0] == seen[1] == seen[3] == 0


def test_lab_reads_as_scikit_images_rgb2lab():
    """media.grade.lab is rgb2lab in single precision: the same readings within 1e-4 L* over
    the whole cube (and beyond it, clipped), for integer and float input alike."""
    import numpy as np
    from skimage.color import rgb2lab

    from slate.media.grade import lab
    rng = np.random.default_rng(36)
    floats = rng.uniform(-20, 275, (64, 64, 3))
    ints = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    corners = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 10, 10]], float)
    for rgb in (floats, ints, corners):
        expected = rgb2lab(np.clip(rgb, 0, 255) / 255.0)
        got = lab(rgb)
        assert got.shape == expected.shape and got.dtype == np.float32
        assert np.abs(got - expected).max() < 1e-3, np.abs(got - expected).max()
