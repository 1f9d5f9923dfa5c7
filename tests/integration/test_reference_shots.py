"""Reference shots (`frame_mode: reference`): the video model gets the cast's turnarounds, the
plate and the shot's extra references instead of a frame; `slate check` holds the lineup to what
each model takes. The example film is never changed: each test adds a reference shot to its copy."""
from __future__ import annotations

import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from slate.governor.ledger import Ledger
from slate.cli import app
from tests.scene_cuts import keep_shots

runner = CliRunner()


def reference_shot(root, shot_id="1C", extra=True):
    """Shots 1A and 1C of the example, 1C made a reference shot (with a prop's picture as an extra
    reference when `extra`)."""
    keep_shots(root, ("1A", shot_id))
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    shot = next(s for s in doc["shots"] if s["id"] == shot_id)
    shot["frame_mode"] = "reference"
    if extra:
        (root / "props").mkdir(exist_ok=True)
        Image.new("RGB", (64, 64), (200, 180, 40)).save(root / "props" / "mug.png")
        shot["references"] = ["props/mug.png"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return shot


def check(root, *args):
    return runner.invoke(app, ["check", str(root), *args])


def video_rows(root):
    return [r for r in Ledger.for_project(root).rows(film="night-diner") if r.stage == "video"]


# -- what each family is sent, against the fake servers -----------------------------------------

def _png(colour, size=(96, 64)) -> bytes:
    import io
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def _reference_clip(storage, *, frame=False, resolution="720p", seconds=5.0, count=3):
    """A clip request of a reference shot: `count` references (two sheets, a plate, then props)."""
    from slate.providers.base import ClipRequest
    kinds = [("character", "gabe"), ("character", "jenny"), ("location", "diner")] + \
        [("extra", f"props/p{i}.png") for i in range(max(0, count - 3))]
    refs = [{"uri": storage.put_bytes(_png((40 * i % 255, 90, 160)), "png"), "kind": k, "name": n}
            for i, (k, n) in enumerate(kinds[:count], 1)]
    return ClipRequest(prompt="Jenny pours coffee into Gabe's mug.", seconds=seconds, width=1280, height=720, fps=24,
                       start_uri=storage.put_bytes(_png((9, 9, 9)), "png") if frame else "", end_uri=None,
                       resolution=resolution, movement="static", camera_fixed=False, seed=7, references=refs)


def _posted(fakes, provider):
    return [r["body"] for r in fakes.requests(provider) if r["method"] == "POST"]


@pytest.mark.parametrize("model,field,tag", [
    ("bytedance/seedance-2.0", "reference_images", "[Image1] is gabe"),
    ("bytedance/seedance-1-lite", "reference_images", "Reference images, in order: gabe"),
])
def test_replicate_sends_references_in_reference_images_and_never_with_a_frame(example_film, fakes, model, field, tag):
    from slate.providers.errors import BadRequest
    from slate.providers.replicate import ReplicateVideo
    from slate.providers.storage_local import LocalStorage
    storage = LocalStorage(example_film)
    video = ReplicateVideo(model, storage=storage, base_url=fakes.url("replicate"))
    video.submit(_reference_clip(storage), client_ref="c1")
    [body] = _posted(fakes, "replicate")
    inputs = body["input"]
    assert len(inputs[field]) == 3 and all(u.startswith("data:image/png;base64,") for u in inputs[field])
    assert "image" not in inputs and "last_frame_image" not in inputs
    assert tag in inputs["prompt"] and inputs["prompt"].startswith("Jenny pours coffee")
    assert len(fakes.jobs("replicate")) == 1   # the fake took it: the fields are the documented ones
    with pytest.raises(BadRequest, match="start frame together with references"):
        video.submit(_reference_clip(storage, frame=True), client_ref="c2")
    assert len(_posted(fakes, "replicate")) == 1   # refused before anything was sent


def test_seedance_1_lite_gets_at_most_four_references_and_never_at_1080p(example_film, fakes):
    from slate.providers.errors import BadRequest
    from slate.providers.replicate import ReplicateVideo
    from slate.providers.storage_local import LocalStorage
    storage = LocalStorage(example_film)
    video = ReplicateVideo("bytedance/seedance-1-lite", storage=storage, base_url=fakes.url("replicate"))
    video.submit(_reference_clip(storage, count=6), client_ref="c1")
    [body] = _posted(fakes, "replicate")
    assert len(body["input"]["reference_images"]) == 4   # the cast, the plate, the first prop
    with pytest.raises(BadRequest, match="only at 480p/720p"):
        video.submit(_reference_clip(storage, resolution="1080p"), client_ref="c2")
    assert len(_posted(fakes, "replicate")) == 1


def test_veo_gets_asset_references_and_no_image(example_film, fakes):
    from slate.providers.errors import BadRequest
    from slate.providers.gemini import Veo
    from slate.providers.storage_local import LocalStorage
    storage = LocalStorage(example_film)
    veo = Veo("veo-3.1-generate-preview", storage=storage, base_url=fakes.url("gemini"))
    veo.submit(_reference_clip(storage, count=5, seconds=8.0), client_ref="c1")
    [body] = _posted(fakes, "gemini")
    instance = body["instances"][0]
    assert "image" not in instance and "lastFrame" not in instance
    refs = instance["referenceImages"]
    assert len(refs) == 3 and {r["referenceType"] for r in refs} == {"ASSET"}
    assert all(r["image"]["bytesBase64Encoded"] for r in refs)
    assert "The reference images show: gabe" in instance["prompt"]
    with pytest.raises(BadRequest, match="start frame together with references"):
        veo.submit(_reference_clip(storage, frame=True, seconds=8.0), client_ref="c2")
    fast = Veo("veo-3.1-fast-generate-preview", storage=storage, base_url=fakes.url("gemini"))
    with pytest.raises(BadRequest, match="takes no reference images"):
        fast.submit(_reference_clip(storage, seconds=8.0), client_ref="c3")
    assert len(_posted(fakes, "gemini")) == 1


def test_fal_reference_to_video_gets_reference_image_urls_and_no_image_url(example_film, fakes):
    from slate.providers.errors import BadRequest
    from slate.providers.fal import FalVideo
    from slate.providers.storage_local import LocalStorage
    storage = LocalStorage(example_film)
    video = FalVideo("fal-ai/bytedance/seedance/v1/lite/reference-to-video", storage=storage,
                     base_url=fakes.url("fal"))
    video.submit(_reference_clip(storage, count=5), client_ref="c1")
    [body] = _posted(fakes, "fal")
    assert len(body["reference_image_urls"]) == 4 and "image_url" not in body and "end_image_url" not in body
    assert len(fakes.jobs("fal")) == 1
    image_to_video = FalVideo("fal-ai/bytedance/seedance/v1/lite/image-to-video", storage=storage,
                              base_url=fakes.url("fal"))
    with pytest.raises(BadRequest, match="takes no reference images"):
        image_to_video.submit(_reference_clip(storage), client_ref="c2")
    assert len(_posted(fakes, "fal")) == 1


def test_openrouter_sends_input_references_and_no_frame_images(example_film, fakes):
    from slate.providers.errors import BadRequest
    from slate.providers.openrouter import OpenRouterVideo
    from slate.providers.storage_local import LocalStorage
    storage = LocalStorage(example_film)
    video = OpenRouterVideo("bytedance/seedance-2.0", storage=storage, base_url=fakes.url("openrouter"))
    video.submit(_reference_clip(storage, count=4), client_ref="c1")
    [body] = _posted(fakes, "openrouter")
    assert "frame_images" not in body
    assert [r["type"] for r in body["input_references"]] == ["image_url"] * 4
    assert "[Image4] is props/p0.png" in body["prompt"]
    assert len(fakes.jobs("openrouter")) == 1
    with pytest.raises(BadRequest, match="its notes do not say it may"):
        video.submit(_reference_clip(storage, frame=True), client_ref="c2")
    assert len(_posted(fakes, "openrouter")) == 1


# -- a reference shot rendered through the fakes -------------------------------------------------


# -- slate check ---------------------------------------------------------------------------------

def test_check_refuses_a_video_model_without_references_naming_the_shot_and_the_models_that_can(example_film, provider_keys):
    reference_shot(example_film)
    out = check(example_film, "--video-model", "replicate:bytedance/seedance-1-pro,gemini:veo-3.1-generate-preview")
    assert out.exit_code == 1
    line = next(x for x in out.output.splitlines() if "seedance-1-pro" in x)
    assert line.startswith("error: scenes/scene-01.yaml: shot 1C: frame_mode: the video model "
                           "replicate:bytedance/seedance-1-pro takes no reference images; models that do: ")
    assert "replicate:bytedance/seedance-2.0" in line and "gemini:veo-3.1-generate-preview" in line
    # Veo, the fallback, takes them: no line of this shot's frame_mode names the fallback
    assert not [x for x in out.output.splitlines() if "shot 1C: frame_mode:" in x and "fallback" in x], out.output
    fine = check(example_film, "--video-model", "gemini:veo-3.1-generate-preview")
    assert fine.exit_code == 0, fine.output
    # Veo takes three: the shot has four (two sheets, the plate, the mug), and says which go.
    assert "takes 3 reference images; this shot has 4: the first 3 are sent" in fine.output


def test_check_says_where_a_start_frame_cannot_go_with_references(example_film):
    keep_shots(example_film, ("1A", "1C"))
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    (example_film / "props").mkdir()
    Image.new("RGB", (64, 64), (200, 180, 40)).save(example_film / "props" / "mug.png")
    doc["shots"][1]["references"] = ["props/mug.png"]   # a start frame plus references
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert check(example_film).exit_code == 0        # the local provider places both
    out = check(example_film, "--video-model", "replicate:bytedance/seedance-2.0")
    assert out.exit_code == 1
    assert ("shot 1C: references: the video model replicate:bytedance/seedance-2.0 cannot take a start frame "
            "together with references (its notes say not)") in out.output
    out = check(example_film, "--video-model", "openrouter:bytedance/seedance-2.0")
    assert "(its notes do not say it may)" in out.output


# -- chosen views of a turnaround ----------------------------------------------------------------

CELLS = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40)]   # front, 3/4, side, back


def _sheet_png(size=(768, 384)) -> bytes:
    """A turnaround sheet of four views in a row, each cell one colour (front, 3/4, side, back)."""
    import io
    img = Image.new("RGB", size)
    for i, colour in enumerate(CELLS):
        img.paste(colour, (i * size[0] // 4, 0, (i + 1) * size[0] // 4, size[1]))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _data_url_image(url: str) -> Image.Image:
    import base64
    import io
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")


def test_chosen_views_reach_the_model_cut_from_the_sheet_in_its_order(example_film, fakes):
    """A shot's `views: [side, front]` sends each character as those two cells side by side, in
    the sheet's order (front, then side), and the prompt says which views they are."""
    from slate.providers.base import ClipRequest
    from slate.providers.replicate import ReplicateVideo
    from slate.providers.storage_local import LocalStorage
    storage = LocalStorage(example_film)
    sheet = storage.put_bytes(_sheet_png(), "png")
    refs = [{"uri": sheet, "kind": "character", "name": "gabe", "views": ["side", "front"]},
            {"uri": storage.put_bytes(_png((90, 90, 90)), "png"), "kind": "location", "name": "diner"}]
    request = ClipRequest(prompt="Gabe turns to the door.", seconds=5.0, width=1280, height=720, fps=24, start_uri="",
                          end_uri=None, resolution="720p", movement="static", camera_fixed=False, seed=7,
                          references=refs)
    ReplicateVideo("bytedance/seedance-2.0", storage=storage, base_url=fakes.url("replicate")).submit(
        request, client_ref="c1")
    [body] = _posted(fakes, "replicate")
    gabe = _data_url_image(body["input"]["reference_images"][0])
    assert gabe.size == (384, 384)                                  # two of the four 192-px cells
    assert gabe.getpixel((96, 192)) == CELLS[0] and gabe.getpixel((288, 192)) == CELLS[2]   # front, then side
    assert "[Image1] is gabe (character views: front, side;" in body["input"]["prompt"]
    assert _data_url_image(body["input"]["reference_images"][1]).size == (96, 64)   # the plate as it is


def test_a_shots_views_are_planned_onto_its_casts_references(example_film):
    from slate.manifests import load_film
    from slate.tasks.shot.plan import plan_from_project
    shot = reference_shot(example_film, extra=False)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    next(s for s in doc["shots"] if s["id"] == "1C")["views"] = ["front", "three_quarter"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    [plan] = [p for p in plan_from_project(load_film(example_film), "scene-01", "draft", 24) if p.shot == shot["id"]]
    cast = [r for r in plan.references if r["kind"] == "character"]
    assert cast and all(r["views"] == ["front", "three_quarter"] for r in cast), plan.references
    assert all("views" not in r for r in plan.references if r["kind"] != "character")


def test_check_refuses_views_of_a_turnaround_that_is_not_a_sheet_and_views_without_references(example_film):
    shot = reference_shot(example_film, extra=False)
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    target = next(s for s in doc["shots"] if s["id"] == "1C")
    target["views"] = ["front"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert check(example_film).exit_code == 0, check(example_film).output   # the example's sheets: four in a row
    who = shot["characters"][0]
    key = f"characters/{who}/{who}_turnaround_APPROVED.png"
    Image.new("RGBA", (500, 500), (0, 0, 0, 0)).save(example_film / key)   # a square portrait, not a sheet
    out = check(example_film)
    assert out.exit_code == 1
    assert (f"scenes/scene-01.yaml: shot 1C: views: character '{who}': its turnaround {key} is 500x500, not a sheet "
            "of four views in a row") in out.output, out.output
    target["frame_mode"] = "start"          # a start shot with no references sends no turnaround at all
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = check(example_film)
    assert out.exit_code == 1 and "shot 1C: views: only a shot that sends the video model references" in out.output, \
        out.output


# -- the polish pass of a human composite --------------------------------------------------------

def test_a_composite_is_polished_with_its_own_prompt_for_every_family(example_film, provider_keys):
    from slate.manifests import load_film
    from slate.providers.prompts import load_rules
    from slate.tasks.shot.plan import panel_prompt
    keep_shots(example_film, ("1A", "1C"))
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    (example_film / "overrides").mkdir()
    Image.new("RGB", (854, 480), (90, 80, 70)).save(example_film / "overrides" / "1C.png")
    doc["shots"][1]["panel_override"] = "overrides/1C.png"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    film, rules = load_film(example_film), load_rules(example_film)
    for model in ("gemini:gemini-2.5-flash-image", "fal:fal-ai/flux-pro/kontext", "replicate:bytedance/seedream-4"):
        family = rules.family_of(model)
        polished = panel_prompt(film, "scene-01", "1C", "start", family)
        assert polished.startswith("One image is a human composite of this shot: polish it"), (model, polished)
        assert "Do not move, add or remove any figure" in polished and "location plate, into" not in polished
        drawn = panel_prompt(film, "scene-01", "1A", "start", family)   # no composite: drawn as before
        assert drawn.startswith("Edit the first image, the location plate"), drawn
    assert check(example_film, "--panel-model", "gemini:gemini-2.5-flash-image", "--judge", "gemini").exit_code == 0


def test_a_reference_clip_is_held_to_its_own_first_frame_not_to_the_board(example_film, tmp_path):
    """A reference shot's 'start' is its references laid out (the board), which no model draws: a
    clip that frames the set its own way, in its own light, is not a colour cast of the board —
    while the same clip held to the board as if it had started from it is (what the keyframe gate
    did before a reference shot's clip was held to its own first frame)."""
    from slate.media import render_clip
    from slate.media.frames import keyframes
    from slate.tasks.gates.keyframes import own_scores
    plate = Image.open(example_film / "locations" / "diner" / "diner_plate_APPROVED.png").convert("RGB")
    board = tmp_path / "board.png"
    plate.resize((320, 180)).save(board)
    # The model's picture: a warmer, closer framing of the same set.
    w, h = plate.size
    warm = plate.crop((w // 8, h // 8, w - w // 8, h - h // 8)).resize((320, 180))
    r, g, b = warm.split()
    warm = Image.merge("RGB", (r.point(lambda v: min(255, int(v * 1.2))), g, b.point(lambda v: int(v * 0.75))))
    first = tmp_path / "first.png"
    warm.save(first)
    clip = tmp_path / "clip.mp4"
    render_clip(first, clip, width=320, height=180, fps=24, seconds=2.0, movement="dolly_in")
    frames = keyframes(clip, tmp_path / "frames")

    def colour(**kw):
        scores = own_scores(clip, frames, seconds=2.0, fps=24, expect_motion=True, start=board, **kw)
        return next(s for s in scores if s["name"] == "clip_colour")

    assert colour(start_in_clip=True)["passed"], colour(start_in_clip=True)
    assert not colour(start_in_clip=False)["passed"]   # the board is not where the clip began
