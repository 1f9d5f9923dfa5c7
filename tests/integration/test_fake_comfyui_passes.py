"""The fake ComfyUI's clip-in, clip-out passes (tests/fakes/comfyui.py), over real HTTP: the
example's face swap and upscale workflows (manifests/example_comfyui.py) filled by hand, a take
uploaded, the prompt queued, followed in /history and its clip fetched from /view.

For: holding the fake to what these passes promise before slate's own passes lean on it — a face
swap repaints the face asked and nothing else (not the other face, not the hair, not the set), an
upscale brings the take to the size asked, each of its swap faults spoils a take the way it says.
The take is made here, each run: the example diner's plate with Jenny (her skin drifted 25 Lab
units darker and warmer, as a take drifts) and Gabe stood in it, from the example's own
turnaround drawing; no made media is kept in git. It must never reach anything but the fake.
"""
from __future__ import annotations

import copy
import dataclasses
import io
import json
import tempfile
import time
import tomllib
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_dilation, binary_erosion

from slate.manifests.example import draw_plate
from slate.manifests.example_comfyui import (
    FACESWAP,
    FACESWAP_MAPPING,
    FILES,
    UPSCALE,
    UPSCALE_MAPPING,
)
from slate.manifests.turnaround import EXAMPLE_CAST, HEAD_BAND, draw_view
from slate.media import probe
from slate.media.commands import raw_clip_args, raw_frames_args
from slate.media.ffmpeg import pipe
from slate.media.grade import lab

W, H, FPS, FRAMES = 320, 180, 24, 24
JENNY, GABE = EXAMPLE_CAST["jenny"], EXAMPLE_CAST["gabe"]
#: Jenny's skin in the take: 24.6 Lab units from her approved face's, darker and warmer.
DRIFTED = (212, 161, 125)
GROUND = (255, 255, 255)   # the approved face's plain ground


# -- the media, made here ---------------------------------------------------------------------------
def front(spec) -> Image.Image:
    """A character's front view, cut to the figure (RGBA)."""
    view = draw_view(spec, "front")
    return view.crop(view.getchannel("A").getbbox())


def approved_face(spec) -> bytes:
    """The head of a character's turnaround front view on a plain ground, as a PNG: what slate
    uploads as the face to swap in."""
    figure = front(spec)
    head = figure.crop((0, 0, figure.width, round(figure.height * HEAD_BAND[1])))
    head = head.crop(head.getchannel("A").getbbox())
    picture = Image.new("RGB", (head.width + 24, head.height + 24), GROUND)
    picture.paste(head, (12, 12), head)
    return png(picture)


def png(picture: Image.Image) -> bytes:
    buf = io.BytesIO()
    picture.save(buf, format="PNG")
    return buf.getvalue()


@dataclasses.dataclass(frozen=True)
class Take:
    mp4: bytes
    frame: np.ndarray          # the frame every frame of the take is, before encoding
    faces: dict[str, np.ndarray]   # who -> the mask of their face's skin in it
    before: np.ndarray         # its frames as the fake decodes them (what a pass starts from)


def stood(frame: Image.Image, spec, centre: int, scale: float) -> np.ndarray:
    """A character's front view stood on the set's floor at `centre`; the mask of their face's
    skin (the head band's skin-coloured pixels: the hands are no face)."""
    figure = front(spec)
    figure = figure.resize((round(figure.width * scale), round(figure.height * scale)), Image.Resampling.LANCZOS)
    x, y = centre - figure.width // 2, H - figure.height - H // 20
    frame.paste(figure, (x, y), figure)
    rgba = np.asarray(figure)
    skin = (np.abs(rgba[..., :3].astype(int) - np.array(spec.skin)).sum(axis=2) <= 12) & (rgba[..., 3] == 255)
    skin[round(figure.height * HEAD_BAND[1]):] = False
    mask = np.zeros((H, W), bool)
    mask[y:y + figure.height, x:x + figure.width] = skin
    return mask


def encoded(frames: list[np.ndarray], fps: float = FPS) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "take.mp4"
        pipe(raw_clip_args(out, width=W, height=H, fps=fps), b"".join(f.tobytes() for f in frames))
        return out.read_bytes()


def decoded(mp4: bytes) -> tuple[np.ndarray, float]:
    """A clip's frames (N x H x W x 3) and its rate."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        path.write_bytes(mp4)
        info = probe(path)
        raw = pipe(raw_frames_args(path, width=info.width, height=info.height))
    frames = np.frombuffer(raw, np.uint8).reshape(-1, info.height, info.width, 3)
    assert len(frames) == info.frames
    return frames, float(info.fps)


@pytest.fixture(scope="module")
def take() -> Take:
    return made_take()


def made_take() -> Take:
    """One second of the diner at 24 fps, Jenny (skin drifted) on the left and Gabe on the right,
    both at the cast's heights: Gabe three quarters of the frame tall."""
    frame = draw_plate("diner").resize((W, H), Image.Resampling.LANCZOS)
    scale = 0.75 * H / front(GABE).height
    faces = {"jenny": stood(frame, dataclasses.replace(JENNY, skin=DRIFTED), W // 3, scale),
             "gabe": stood(frame, GABE, 2 * W // 3, scale)}
    still = np.asarray(frame)
    mp4 = encoded([still] * FRAMES)
    return Take(mp4, still, faces, decoded(mp4)[0])


# -- the fake, over HTTP ------------------------------------------------------------------------------
@pytest.fixture
def comfy(fakes):
    with httpx.Client(base_url=fakes.url("comfyui"), timeout=30) as http:
        yield http


def upload(http: httpx.Client, name: str, data: bytes, kind: str) -> str:
    got = http.post("/upload/image", files={"image": (name, data, kind)}, data={"type": "input", "overwrite": "true"})
    got.raise_for_status()
    return got.json()["name"]


def ran(http: httpx.Client, graph: dict, output: str = "41") -> bytes:
    """The graph queued, followed to its end, and its clip fetched."""
    queued = http.post("/prompt", json={"prompt": graph, "client_id": "test-passes"})
    assert queued.status_code == 200, queued.text
    prompt_id = queued.json()["prompt_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        entry = http.get(f"/history/{prompt_id}").json().get(prompt_id)
        if entry and entry["status"]["status_str"] != "running":
            break
        time.sleep(0.05)
    assert entry and entry["status"]["completed"], entry and entry["status"]
    [made] = entry["outputs"][output]["images"]
    got = http.get("/view", params={"filename": made["filename"], "subfolder": made["subfolder"], "type": "output"})
    got.raise_for_status()
    return got.content


def faceswap(http: httpx.Client, take: Take, *, index: str = "0", face=JENNY, **inputs) -> dict:
    """The example's face swap, filled as its mapping says: the take, the approved face, whose face."""
    graph = copy.deepcopy(FACESWAP)
    graph["10"]["inputs"]["file"] = upload(http, "take.mp4", take.mp4, "video/mp4")
    graph["20"]["inputs"]["image"] = upload(http, "face.png", approved_face(face), "image/png")
    graph["30"]["inputs"].update(input_faces_index=index, **inputs)
    graph["40"]["inputs"]["fps"] = float(FPS)
    return graph


def upscale(http: httpx.Client, take: Take, width: int, height: int, model: str = "RealESRGAN_x2.pth") -> dict:
    graph = copy.deepcopy(UPSCALE)
    graph["10"]["inputs"]["file"] = upload(http, "take.mp4", take.mp4, "video/mp4")
    graph["20"]["inputs"]["model_name"] = model
    graph["22"]["inputs"].update(width=width, height=height)
    graph["40"]["inputs"]["fps"] = float(FPS)
    return graph


# -- what is measured -------------------------------------------------------------------------------
def skin(frames: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The median colour of a face's skin over a clip (its edge left out: the codec blurs it)."""
    inner = binary_erosion(mask, iterations=1)
    return np.median(frames[:, inner], axis=(0, 1))


def apart(a, b) -> float:
    """Lab units between two colours."""
    return float(np.linalg.norm(lab(np.asarray(a, float)) - lab(np.asarray(b, float))))


#: A pixel changed: by more than this, over its three channels, on average over the clip. A
#: second H.264 generation moves a few of the set's sharpest edges so far (one to three pixels of
#: the frame's 57,600); a face swap that repainted Jenny's hair too moves some 440.
CHANGED = 60
#: Pixels so changed that are still the codec's, not the swap's.
CODEC_PIXELS = 10


def changed_outside(out: np.ndarray, before: np.ndarray, mask: np.ndarray | None) -> int:
    """How many pixels outside `mask` and a margin of three pixels about it (None: of the whole
    frame) the pass changed (CHANGED): what it did where it was not asked to."""
    keep = np.ones(out.shape[1:3], bool) if mask is None else ~binary_dilation(mask, iterations=3)
    change = np.abs(out.astype(int) - before.astype(int)).sum(axis=3).mean(axis=0)
    return int((change[keep] > CHANGED).sum())


def test_the_takes_faces_are_what_the_test_says():
    assert 24 <= apart(DRIFTED, JENNY.skin) <= 26


# -- the face swap ------------------------------------------------------------------------------------
def test_a_face_swap_gives_the_asked_face_its_approved_skin_and_leaves_the_rest(comfy, take):
    before = take.before
    out, fps = decoded(ran(comfy, faceswap(comfy, take)))
    assert (len(out), fps, out.shape[1:3]) == (FRAMES, FPS, (H, W))
    jenny, gabe = take.faces["jenny"], take.faces["gabe"]
    # her face: the drifted skin before, her approved face's after (give or take the codec)
    assert apart(skin(before, jenny), JENNY.skin) > 20
    assert apart(skin(out, jenny), JENNY.skin) < 4, skin(out, jenny)
    # his face, her hair, her eyes, her hands, the set: as they came, to the codec's noise
    assert apart(skin(out, gabe), skin(before, gabe)) < 2
    assert changed_outside(out, before, jenny) <= CODEC_PIXELS


def test_the_second_face_from_the_left_is_asked_by_index_one(comfy, take):
    before = take.before
    out, _ = decoded(ran(comfy, faceswap(comfy, take, index="1")))
    jenny, gabe = take.faces["jenny"], take.faces["gabe"]
    assert apart(skin(out, gabe), JENNY.skin) < 4          # Gabe's face given the approved face's skin
    assert apart(skin(out, jenny), skin(before, jenny)) < 2   # hers left drifted
    assert changed_outside(out, before, gabe) <= CODEC_PIXELS


@pytest.mark.parametrize("inputs", [{"enabled": False}, {"input_faces_index": "2"}, {"source_faces_index": "1"}],
                         ids=["switched off", "an index past the faces", "a source face it has not"])
def test_a_swap_that_finds_nothing_to_do_gives_the_take_back(comfy, take, inputs):
    before = take.before
    graph = faceswap(comfy, take)
    graph["30"]["inputs"].update(inputs)
    out, _ = decoded(ran(comfy, graph))
    assert len(out) == FRAMES and changed_outside(out, before, None) <= CODEC_PIXELS


# -- its faults ---------------------------------------------------------------------------------------
def test_swap_background_also_paints_the_bottom_right_sixth_of_the_frame(comfy, fakes, take):
    fakes.faults({"provider": "comfyui", "op": "run", "kind": "swap_background"})
    before = take.before
    out, _ = decoded(ran(comfy, faceswap(comfy, take)))
    corner = np.zeros((H, W), bool)
    corner[H - H // 2 + 2:, W - W // 3 + 2:] = True    # inside its edge, which the codec blurs
    assert apart(np.median(out[:, corner], axis=(0, 1)), JENNY.skin) < 4
    assert apart(skin(out, take.faces["jenny"]), JENNY.skin) < 4   # and her face swapped all the same
    assert changed_outside(out, before, take.faces["jenny"]) > (W // 3) * (H // 2) // 2


def test_swap_short_drops_the_last_quarter_of_the_frames(comfy, fakes, take):
    fakes.faults({"provider": "comfyui", "op": "run", "kind": "swap_short"})
    out, fps = decoded(ran(comfy, faceswap(comfy, take)))
    assert (len(out), fps) == (FRAMES - FRAMES // 4, FPS)


def test_swap_wrong_face_swaps_the_next_face_along(comfy, fakes, take):
    fakes.faults({"provider": "comfyui", "op": "run", "kind": "swap_wrong_face"})
    before = take.before
    out, _ = decoded(ran(comfy, faceswap(comfy, take, index="0")))
    assert apart(skin(out, take.faces["gabe"]), JENNY.skin) < 4
    assert apart(skin(out, take.faces["jenny"]), skin(before, take.faces["jenny"])) < 2
    fakes.faults({"provider": "comfyui", "op": "run", "kind": "swap_wrong_face"})
    out, _ = decoded(ran(comfy, faceswap(comfy, take, index="1")))   # after the last: the first
    assert apart(skin(out, take.faces["jenny"]), JENNY.skin) < 4


def test_swap_none_gives_the_take_back_and_waits_for_a_face_swap(comfy, fakes, take):
    fakes.faults({"provider": "comfyui", "op": "run", "kind": "swap_none"})
    before = take.before
    scaled, _ = decoded(ran(comfy, upscale(comfy, take, W * 2, H * 2)))   # no face swap: it passes the fault by
    assert scaled.shape[1:3] == (H * 2, W * 2)
    out, _ = decoded(ran(comfy, faceswap(comfy, take)))
    assert len(out) == FRAMES and changed_outside(out, before, None) <= CODEC_PIXELS
    out, _ = decoded(ran(comfy, faceswap(comfy, take)))    # the fault was taken once
    assert apart(skin(out, take.faces["jenny"]), JENNY.skin) < 4


# -- the upscale --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "asked", "made"), [
    ("RealESRGAN_x2.pth", (1280, 720), (1280, 720)),
    ("RealESRGAN_x2.pth", None, (2 * W, 2 * H)),
    ("4x-UltraSharp.pth", None, (4 * W, 4 * H)),
], ids=["x2 then to the size asked", "x2 alone", "4x alone"])
def test_an_upscale_scales_by_its_models_factor_then_to_the_size_asked(comfy, take, model, asked, made):
    graph = upscale(comfy, take, *(asked or (0, 0)), model=model)
    if asked is None:   # without its ImageScale: what the model alone makes
        del graph["22"]
        graph["40"]["inputs"]["images"] = ["21", 0]
    out, fps = decoded(ran(comfy, graph))
    assert (len(out), fps, out.shape[2], out.shape[1]) == (FRAMES, FPS, *made)
    # the same picture, larger: brought back to the take's size, it is the take but for two
    # generations of the codec and two resamplings (about 5 of 255 a channel; another frame of
    # the set, moved a tenth of its width, is some 50 off)
    small = np.stack([np.asarray(Image.fromarray(f).resize((W, H), Image.Resampling.BOX)) for f in out])
    assert np.abs(small.astype(int) - take.frame.astype(int)).mean() < 6


# -- what the server says of them ----------------------------------------------------------------------
def test_object_info_has_the_passes_node_types_and_model_files(comfy):
    info = comfy.get("/object_info").json()
    for node in ("LoadVideo", "GetVideoComponents", "ReActorFaceSwap", "UpscaleModelLoader", "ImageUpscaleWithModel"):
        assert node in info, node
    reactor = info["ReActorFaceSwap"]["input"]
    assert reactor["required"]["swap_model"][0] == ["inswapper_128.onnx"]
    assert "codeformer-v0.1.0.pth" in reactor["required"]["face_restore_model"][0]
    assert set(reactor["optional"]) == {"source_image", "face_model"}
    assert info["ReActorFaceSwap"]["output"] == ["IMAGE", "FACE_MODEL"]
    assert info["GetVideoComponents"]["output"] == ["IMAGE", "AUDIO", "FLOAT"]
    assert {"RealESRGAN_x2.pth", "4x-UltraSharp.pth"} <= set(info["UpscaleModelLoader"]["input"]["required"]
                                                            ["model_name"][0])
    # every choice the example's two workflows make is one the server offers (what `slate doctor` holds)
    for graph in (FACESWAP, UPSCALE):
        for node, spec in graph.items():
            kind = info[spec["class_type"]]["input"]
            for name, value in spec["inputs"].items():
                choices = {**kind["required"], **kind["optional"]}[name]
                if isinstance(choices[0], list):
                    assert value in choices[0], (node, name, value)


def test_a_load_video_of_a_file_never_uploaded_is_refused_naming_the_node(comfy, take):
    graph = faceswap(comfy, take)
    graph["10"]["inputs"]["file"] = "never-uploaded.mp4"
    refused = comfy.post("/prompt", json={"prompt": graph, "client_id": "test-passes"})
    assert refused.status_code == 400
    body = refused.json()
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    [wrong] = body["node_errors"]["10"]["errors"]
    assert (wrong["type"], wrong["details"]) == ("custom_validation_failed",
                                                 "file - Invalid video file: never-uploaded.mp4")
    assert body["node_errors"]["10"]["class_type"] == "LoadVideo"


def test_the_example_writes_both_workflows_with_their_mappings():
    assert FILES["faceswap-reactor.toml"] == FACESWAP_MAPPING and FILES["upscale-esrgan.toml"] == UPSCALE_MAPPING
    for name, graph in (("faceswap-reactor", FACESWAP), ("upscale-esrgan", UPSCALE)):
        assert json.loads(FILES[f"{name}.json"]) == graph
        mapping = tomllib.loads(FILES[f"{name}.toml"])
        assert graph[mapping["output"]]["class_type"] == "SaveVideo"
        for where in mapping["inputs"].values():
            node, _, field = where.rpartition(".")
            assert field in graph[node]["inputs"] and not isinstance(graph[node]["inputs"][field], list), where
