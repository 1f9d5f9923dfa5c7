"""A fake ComfyUI server under /comfyui: its API as ComfyUI's server.py serves it, over real HTTP.

    POST /upload/image        multipart (image, type, overwrite) → {"name", "subfolder", "type"}; a picture,
                              or a clip (as ComfyUI's frontend uploads a video [?])
    POST /prompt              {"prompt", "client_id", "prompt_id"?, "extra_data"?} → {"prompt_id", "number",
                              "node_errors"}; a workflow it cannot run → 400 {"error", "node_errors"}
    GET  /queue               {"queue_running": [item], "queue_pending": [item]}
    POST /queue               {"delete": [id]} | {"clear": true}
    POST /interrupt           {"prompt_id"?}: stops that prompt if it runs (none named: whatever runs), once
                              the node it is in finishes (NODE_SECONDS later), as the real server does
    GET  /history[/{id}]      {id: {"prompt": item, "outputs", "status": {"status_str", "completed", "messages"}}}
    GET  /view                ?filename=&subfolder=&type= → the file
    GET  /object_info[/{class}]   the node types it has (and its model files, in loaders' combos)
    GET  /system_stats        its version and one GPU's VRAM

An item is [number, prompt_id, prompt, extra_data, outputs_to_execute]. The prompt id is the one
asked for, as newer servers take it, else a new UUID. Validation is ComfyUI's: a node type it lacks
refuses the whole prompt ("Cannot execute because node X does not exist.", node_errors {}); a
missing required input, a link to no node, or a LoadImage or LoadVideo of a file never uploaded
is a node_errors entry, as is a number past its node's bounds (LIMITS: "Value 99999 bigger than max
of 16384"). Only nodes an output node reaches are validated, each output on its own, as ComfyUI
does: when some outputs pass, the prompt is queued to run those alone and the answer is 200 with
the failing ones' node_errors (each naming its dependent_outputs); a 400 only when none passes.

Prompts run one at a time, in order, each for `RUN_SECONDS` (a fault says otherwise), on the
fake's clock: the queue is advanced whenever a request comes in, so nothing runs in a thread.
Running means executing the graph — a small interpreter of the node types it has (NODES): loaders
give tokens, LoadImage the uploaded picture, ImageScale a resize, KSampler keeps its seed and its
positive text, WanFirstLastFrameToVideo / WanImageToVideo a clip's frames (start, end, size,
length), CreateVideo its rate, SaveImage a PNG, SaveVideo an H.264 clip of `length` frames at that
rate (core.make_video) — so a picture or a clip is made from what slate filled in, and nothing
else. Its history has the status messages ComfyUI stamps, with `timestamp` in ms: execution_start,
execution_cached, then execution_success, execution_error or execution_interrupted.

A clip in, a clip out (face swap, upscale): LoadVideo decodes the uploaded mp4 into its frames
and rate (slate.media's ffmpeg); GetVideoComponents hands on the frames as an IMAGE batch
({"frames": [RGB pictures]}), no sound, and the rate; ImageScale resizes every frame of a batch,
UpscaleModelLoader names a factor (its file's "x2" / "4x") and ImageUpscaleWithModel scales each
frame by it (lanczos); CreateVideo of a batch is those frames at its fps, and SaveVideo encodes
exactly them at that rate (H.264, yuv420p: an odd side loses a row). ReActorFaceSwap (the ReActor
pack) swaps by colour, not by likeness: the source face is a face on a plain ground (its ground
the corners' colour; its hair the commonest colour of the top quarter of the rest, its skin the
commonest other colour covering a tenth of it and over 20 Lab units from the hair). A frame's
faces are the blobs of pixels near that skin (SKIN_REACH Lab units, and its hue and some of its
colour: so a face that drifted 25 units is found, and the diner's chrome, tiles and reds are not)
at least a face's size (FACE_PIXELS …), left to right by their left edge [?: ReActor's order];
`input_faces_index` ("0", "0,1") picks them, an index past the faces found swaps none. A swap
repaints the picked face's skin pixels in the source's skin colour, and nothing else: the eyes,
mouth and hair stay (a face swapper swaps faces, not hair). `enabled` false, or a source index
other than 0 (the source holds one face), gives the frames back as they came. It detects only
faces whose skin is near the source's: a test's cast is of a like complexion, or asks the face it
means by index among those.

Faults (core.Fault, provider "comfyui"):

  op "nodes"   kind "missing"   the server lacks node type fault.data["class_type"] — from /prompt
                                and /object_info — for as long as the fault is queued (never taken)
  op "run"     kind "oom"       the next prompt fails in its KSampler with torch's OutOfMemoryError
               kind "stuck"     the next prompt never finishes: it runs until interrupted
               kind "slow"      the next prompt runs fault.data["seconds"]
               kind "no_stamps" the next prompt's history has no timestamps (an older server)
               kind "swap_background"  the next prompt that runs a ReActorFaceSwap also repaints the
                                bottom-right corner of each frame (a third of its width, half its
                                height: a sixth of it) in the source's skin colour
               kind "swap_short"       … its result drops the last quarter of its frames
               kind "swap_wrong_face"  … swaps the face after the one asked (the first, after the last)
               kind "swap_none"        … gives the frames back unchanged (no face swapped)
                                A swap fault waits for such a prompt: any other passes it by.
  op "prompt"  kind "status" / "drop_before" / "drop_after"   as every fake (core.Fault)
               kind "old_server" that prompt gets an id of the server's own, the one asked ignored
  op "poll"    kind "status"    a GET of /queue or /history answers fault.status
  op "view"    kind "status"    that file's fetch answers fault.status

Every prompt queued is booked (`State.create`: what a test counts), and every interrupt or
deletion that reached a prompt (`State.book_cancel`). Test code only.
"""
from __future__ import annotations

import io
import json
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from tests.fakes.control import PREFIX as PREFIXES
from tests.fakes.core import (
    Drop,
    Reply,
    Request,
    Router,
    State,
    _figures,
    _plain_ground,
    _stand,
    fault_reply,
    make_video,
)

NAME = "comfyui"
PREFIX = PREFIXES[NAME]
RUN_SECONDS = 0.3
GB = 1024 ** 3
VERSION = "0.3.fake"
OOM = ("Allocation on device 0 would exceed allowed memory. (out of memory)\nCurrently allocated     : 21.90 GiB\n"
       "This error means you ran out of memory on your GPU.")

#: The model files the fake server has, by the loader input that names them (the example's).
FILES = {
    "ckpt_name": ["sd_xl_base_1.0.safetensors", "v1-5-pruned-emaonly.safetensors"],
    "unet_name": ["wan2.1_flf2v_720p_14B_fp16.safetensors", "wan2.1_i2v_480p_14B_fp16.safetensors",
                  "qwen_image_edit_2509_fp8_e4m3fn.safetensors"],
    "clip_name": ["umt5_xxl_fp8_e4m3fn_scaled.safetensors", "clip_vision_h.safetensors",
                  "qwen_2.5_vl_7b_fp8_scaled.safetensors"],
    "vae_name": ["wan_2.1_vae.safetensors", "sdxl_vae.safetensors", "qwen_image_vae.safetensors"],
    # ReActor's face swapper and face restorers (models/insightface, models/facerestore_models [?])
    "swap_model": ["inswapper_128.onnx"],
    "face_restore_model": ["none", "codeformer-v0.1.0.pth", "GFPGANv1.4.pth"],
    # an upscaler's weights (models/upscale_models), its factor in its name
    "model_name": ["RealESRGAN_x2.pth", "4x-UltraSharp.pth"],
}
#: What ReActor's detectors and gender filters are called (combos of the node, not files).
DETECTORS = ["retinaface_resnet50", "retinaface_mobile0.25", "YOLOv5l", "YOLOv5n"]
GENDERS = ["no", "female", "male"]


@dataclass(frozen=True)
class Node:
    """A node type the fake has: its required inputs (a combo's choices, else its type), its
    optional ones, what it returns, and whether it is an output node."""

    required: dict[str, Any]
    outputs: tuple[str, ...]
    optional: dict[str, Any] = field(default_factory=dict)
    output_node: bool = False


NODES: dict[str, Node] = {
    "CheckpointLoaderSimple": Node({"ckpt_name": FILES["ckpt_name"]}, ("MODEL", "CLIP", "VAE")),
    "UNETLoader": Node({"unet_name": FILES["unet_name"], "weight_dtype": ["default", "fp8_e4m3fn"]}, ("MODEL",)),
    "CLIPLoader": Node({"clip_name": FILES["clip_name"], "type": ["stable_diffusion", "wan", "qwen_image"]}, ("CLIP",),
                       {"device": ["default", "cpu"]}),
    "VAELoader": Node({"vae_name": FILES["vae_name"]}, ("VAE",)),
    "CLIPVisionLoader": Node({"clip_name": FILES["clip_name"]}, ("CLIP_VISION",)),
    "ModelSamplingSD3": Node({"model": "MODEL", "shift": "FLOAT"}, ("MODEL",)),
    "CLIPTextEncode": Node({"text": "STRING", "clip": "CLIP"}, ("CONDITIONING",)),
    "TextEncodeQwenImageEditPlus": Node({"clip": "CLIP", "prompt": "STRING"}, ("CONDITIONING",),
                                        {"vae": "VAE", "image1": "IMAGE", "image2": "IMAGE", "image3": "IMAGE"}),
    "CLIPVisionEncode": Node({"clip_vision": "CLIP_VISION", "image": "IMAGE", "crop": ["center", "none"]},
                             ("CLIP_VISION_OUTPUT",)),
    "LoadImage": Node({"image": "STRING"}, ("IMAGE", "MASK")),
    "ImageScale": Node({"image": "IMAGE", "upscale_method": ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"],
                        "width": "INT", "height": "INT", "crop": ["disabled", "center"]}, ("IMAGE",)),
    "VAEEncode": Node({"pixels": "IMAGE", "vae": "VAE"}, ("LATENT",)),
    "EmptyLatentImage": Node({"width": "INT", "height": "INT", "batch_size": "INT"}, ("LATENT",)),
    "KSampler": Node({"model": "MODEL", "seed": "INT", "steps": "INT", "cfg": "FLOAT", "sampler_name": "STRING",
                      "scheduler": "STRING", "positive": "CONDITIONING", "negative": "CONDITIONING",
                      "latent_image": "LATENT", "denoise": "FLOAT"}, ("LATENT",)),
    "VAEDecode": Node({"samples": "LATENT", "vae": "VAE"}, ("IMAGE",)),
    "WanImageToVideo": Node({"positive": "CONDITIONING", "negative": "CONDITIONING", "vae": "VAE", "width": "INT",
                             "height": "INT", "length": "INT", "batch_size": "INT"},
                            ("CONDITIONING", "CONDITIONING", "LATENT"),
                            {"clip_vision_output": "CLIP_VISION_OUTPUT", "start_image": "IMAGE"}),
    "WanFirstLastFrameToVideo": Node({"positive": "CONDITIONING", "negative": "CONDITIONING", "vae": "VAE",
                                      "width": "INT", "height": "INT", "length": "INT", "batch_size": "INT"},
                                     ("CONDITIONING", "CONDITIONING", "LATENT"),
                                     {"clip_vision_start_image": "CLIP_VISION_OUTPUT",
                                      "clip_vision_end_image": "CLIP_VISION_OUTPUT", "start_image": "IMAGE",
                                      "end_image": "IMAGE"}),
    "CreateVideo": Node({"images": "IMAGE", "fps": "FLOAT"}, ("VIDEO",), {"audio": "AUDIO"}),
    "LoadVideo": Node({"file": "STRING"}, ("VIDEO",)),
    "GetVideoComponents": Node({"video": "VIDEO"}, ("IMAGE", "AUDIO", "FLOAT")),
    "ReActorFaceSwap": Node({"enabled": "BOOLEAN", "input_image": "IMAGE", "swap_model": FILES["swap_model"],
                             "facedetection": DETECTORS, "face_restore_model": FILES["face_restore_model"],
                             "face_restore_visibility": "FLOAT", "codeformer_weight": "FLOAT",
                             "detect_gender_input": GENDERS, "detect_gender_source": GENDERS,
                             "input_faces_index": "STRING", "source_faces_index": "STRING",
                             "console_log_level": [0, 1, 2]}, ("IMAGE", "FACE_MODEL"),
                            {"source_image": "IMAGE", "face_model": "FACE_MODEL"}),
    "UpscaleModelLoader": Node({"model_name": FILES["model_name"]}, ("UPSCALE_MODEL",)),
    "ImageUpscaleWithModel": Node({"upscale_model": "UPSCALE_MODEL", "image": "IMAGE"}, ("IMAGE",)),
    "SaveImage": Node({"images": "IMAGE", "filename_prefix": "STRING"}, (), output_node=True),
    "SaveVideo": Node({"video": "VIDEO", "filename_prefix": "STRING", "format": ["auto", "mp4"],
                       "codec": ["auto", "h264"]}, (), output_node=True),
}


@dataclass
class Prompt:
    """One queued prompt and how it is to run (a fault may make it fail, hang or run longer)."""

    number: int
    id: str
    graph: dict[str, Any]
    extra: dict[str, Any]
    outputs: list[str]
    queued: float
    seconds: float = RUN_SECONDS
    ending: str = ""           # "" | "oom" | "stuck"
    stamps: bool = True
    swap: str = ""             # "" | a SWAP_FAULTS kind: how its ReActorFaceSwap goes wrong
    started: float | None = None
    interrupt_at: float | None = None   # asked to stop: it does when its running node finishes

    def item(self) -> list[Any]:
        return [self.number, self.id, self.graph, self.extra, self.outputs]


class Book:
    """The fake server's queue, history, uploads and outputs (one per fake process, in State.books)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.number = 0
        self.queue: list[Prompt] = []          # the running one first, when one runs
        self.history: dict[str, dict[str, Any]] = {}
        self.inputs: dict[str, bytes] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        #: the prompt being queued: the outputs that passed validation and the others' node_errors
        self.partial: tuple[list[str], dict[str, Any]] | None = None


def book(st: State) -> Book:
    with st.lock:
        return st.books.setdefault(NAME, Book())


def missing(st: State) -> set[str]:
    """The node types a queued "nodes"/"missing" fault takes away (peeked at, never taken)."""
    with st.lock:
        return {str(f.data.get("class_type")) for f in st.faults if f.provider == NAME and f.op == "nodes"}


def has(st: State, class_type: str) -> bool:
    return class_type in NODES and class_type not in missing(st)


#: How long the node a prompt is in runs on after an interrupt (the real server stops between nodes).
NODE_SECONDS = 0.4


# -- running -------------------------------------------------------------------------------------
def advance(st: State, b: Book) -> None:
    """Run the queue up to now, one prompt at a time: the first starts when the one before it
    ended, runs its seconds (a stuck one until interrupted), and goes to the history."""
    while b.queue:
        now = time.time()
        head = b.queue[0]
        if head.started is None:
            head.started = max(head.queued, now)
        if head.interrupt_at is not None and now >= head.interrupt_at:
            # The interrupt lands at the node boundary, as the real server's does.
            b.queue.pop(0)
            finish(st, b, head, head.interrupt_at, interrupted=True)
            st.book_cancel({"provider": NAME, "id": head.id, "model": "workflow"}, "interrupted")
            if b.queue:
                b.queue[0].started = head.interrupt_at
            continue
        if head.ending == "stuck" or now < head.started + head.seconds:
            return
        b.queue.pop(0)
        finish(st, b, head, head.started + head.seconds)
        if b.queue:
            b.queue[0].started = head.started + head.seconds


def _msg(event: str, p: Prompt, at: float, stamps: bool, **data: Any) -> list[Any]:
    body = {"prompt_id": p.id, **data}
    if stamps:
        body["timestamp"] = int(at * 1000)
    return [event, body]


def finish(st: State, b: Book, p: Prompt, at: float, *, interrupted: bool = False) -> None:
    """Put a prompt in the history: its outputs made (or its error, or its interruption)."""
    started = p.started or at
    messages = [_msg("execution_start", p, started, p.stamps), _msg("execution_cached", p, started, p.stamps, nodes=[])]
    outputs: dict[str, Any] = {}
    if interrupted:
        messages.append(_msg("execution_interrupted", p, at, p.stamps, node_id=None, node_type=None, executed=[]))
        status = "error"
    elif p.ending == "oom":
        sampler = next((n for n, spec in p.graph.items() if spec["class_type"] == "KSampler"), p.outputs[0])
        messages.append(_msg("execution_error", p, at, p.stamps, node_id=sampler,
                             node_type=p.graph[sampler]["class_type"], executed=[],
                             exception_type="torch.OutOfMemoryError", exception_message=OOM, traceback=[]))
        status = "error"
    else:
        try:
            outputs = Interpreter(b, p).run()
            messages.append(_msg("execution_success", p, at, p.stamps))
            status = "success"
        except Exception as exc:  # noqa: BLE001 — a node that cannot run is the prompt's execution_error
            messages.append(_msg("execution_error", p, at, p.stamps, node_id=p.outputs[0], node_type="?", executed=[],
                                 exception_type=type(exc).__name__, exception_message=str(exc), traceback=[]))
            status = "error"
    b.history[p.id] = {"prompt": p.item(), "outputs": outputs,
                       "status": {"status_str": status, "completed": status == "success", "messages": messages},
                       "meta": {}}


class Interpreter:
    """Executes a prompt's graph from its output nodes, as far as the fake's node types go."""

    def __init__(self, b: Book, p: Prompt):
        self.b, self.p, self.memo = b, p, {}

    def run(self) -> dict[str, Any]:
        return {node: self.save(node) for node in self.p.outputs}

    def value(self, v: Any) -> Any:
        if isinstance(v, list) and len(v) == 2 and isinstance(v[1], int) and str(v[0]) in self.p.graph:
            return self.node(str(v[0]))[v[1]]
        return v

    def node(self, node: str) -> tuple:
        if node not in self.memo:
            spec = self.p.graph[node]
            args = {k: self.value(v) for k, v in spec["inputs"].items()}
            self.memo[node] = self.execute(spec["class_type"], args)
        return self.memo[node]

    def execute(self, class_type: str, a: dict[str, Any]) -> tuple:
        if class_type == "LoadImage":
            return (Image.open(io.BytesIO(self.b.inputs[a["image"]])).convert("RGB"), None)
        if class_type == "ImageScale" and isinstance(a["image"], dict) and "frames" in a["image"]:
            return ({"frames": [scaled(f, int(a["width"]), int(a["height"]), a["upscale_method"], a["crop"])
                                for f in a["image"]["frames"]]},)
        if class_type == "ImageScale":
            return (a["image"].resize((int(a["width"]), int(a["height"]))),)
        if class_type == "LoadVideo":
            return (decoded(self.b.inputs[a["file"]]),)
        if class_type == "GetVideoComponents":   # its frames, no sound (the fake's clips have none), its rate
            return ({"frames": list(a["video"]["frames"])}, None, float(a["video"]["fps"]))
        if class_type == "ReActorFaceSwap":
            return swapped(a, self.p.swap)
        if class_type == "UpscaleModelLoader":
            return ({"model": a["model_name"], "factor": upscale_factor(a["model_name"])},)
        if class_type == "ImageUpscaleWithModel":
            factor, image = a["upscale_model"]["factor"], a["image"]

            def grow(f: Image.Image) -> Image.Image:
                return f.resize((f.width * factor, f.height * factor), Image.Resampling.LANCZOS)
            return ({"frames": [grow(f) for f in image["frames"]]} if isinstance(image, dict) else grow(image),)
        if class_type == "CLIPTextEncode":
            return ({"text": a["text"]},)
        if class_type == "TextEncodeQwenImageEditPlus":   # its text, and the pictures it was shown
            return ({"text": a["prompt"], "images": [a[k] for k in ("image1", "image2", "image3") if a.get(k)]},)
        if class_type == "VAEEncode":
            return ({"image": a["pixels"]},)
        if class_type == "EmptyLatentImage":
            return ({"image": Image.new("RGB", (int(a["width"]), int(a["height"])), (90, 90, 110))},)
        if class_type in ("WanFirstLastFrameToVideo", "WanImageToVideo"):
            clip = {"start": a.get("start_image"), "end": a.get("end_image"), "width": int(a["width"]),
                    "height": int(a["height"]), "length": int(a["length"])}
            return (a["positive"], a["negative"], {"clip": clip})
        if class_type == "KSampler":
            return ({**a["latent_image"], "seed": int(a["seed"]), "text": a["positive"]["text"],
                     "shown": a["positive"].get("images") or []},)
        if class_type == "VAEDecode":
            return (a["samples"],)
        if class_type == "CreateVideo":
            return ({**a["images"], "fps": float(a["fps"])},)
        return (f"<{class_type}>", f"<{class_type}>", f"<{class_type}>")   # a loader: a token

    def save(self, node: str) -> dict[str, Any]:
        spec = self.p.graph[node]
        args = {k: self.value(v) for k, v in spec["inputs"].items()}
        name = f"{args.get('filename_prefix', 'ComfyUI').replace('/', '_')}_{uuid.uuid4().hex[:8]}"
        if spec["class_type"] == "SaveImage":
            made = args["images"]
            # An edit model shown turnaround sheets draws their people into the picture: each
            # sheet's first view, stood on the floor in the colour its wardrobe line names.
            sheets = [band for shown in made.get("shown", []) for band in sheet_rows(shown)]
            picture = _stand(made["image"].copy(), _figures(sheets, made.get("text", "")), 0.75) if sheets \
                else made["image"].copy()
            ImageDraw.Draw(picture).rectangle([0, 0, 6 + made.get("seed", 0) % 5, 6],
                                              fill=(made.get("seed", 0) % 255, 40, 40))
            buf = io.BytesIO()
            picture.save(buf, format="PNG")
            self.b.files[f"{name}.png"] = (buf.getvalue(), "image/png")
            return {"images": [{"filename": f"{name}.png", "subfolder": "", "type": "output"}]}
        video = args["video"]
        if "frames" in video:   # a clip made of frames (a clip in, a clip out): those frames, at that rate
            self.b.files[f"{name}.mp4"] = (encoded(video["frames"], video["fps"]), "video/mp4")
            return {"images": [{"filename": f"{name}.mp4", "subfolder": "", "type": "output"}], "animated": [True]}
        clip, fps = video["clip"], video["fps"]
        start = clip["start"] or Image.new("RGB", (clip["width"], clip["height"]), (90, 90, 110))
        data = make_video(start, clip["end"], clip["length"] / fps, clip["width"], clip["height"], fps=round(fps))
        self.b.files[f"{name}.mp4"] = (data, "video/mp4")
        return {"images": [{"filename": f"{name}.mp4", "subfolder": "", "type": "output"}], "animated": [True]}


def sheet_rows(picture: Image.Image) -> list[Image.Image]:
    """The turnaround sheets in a picture of them one under another (rows of ground between
    them), each cut to its figures' rows; a picture that is not on a plain ground (a plate) none."""
    ground = _plain_ground(picture)
    if ground is None:
        return []
    rgb = picture.convert("RGB")
    width = rgb.width
    pixels = rgb.load()
    busy = [any(sum(abs(a - b) for a, b in zip(pixels[x, y], ground)) >= 24 for x in range(0, width, 2))
            for y in range(rgb.height)]
    rows, top = [], None
    for y, on in enumerate(busy + [False]):
        if on and top is None:
            top = y
        elif not on and top is not None:
            if y - top > 8:   # a run of a few rows is a speck, not a sheet
                rows.append(rgb.crop((0, top, width, y)))
            top = None
    return rows


# -- a clip in, a clip out: decoded, scaled, faces swapped, encoded ------------------------------
#: How a "run" fault spoils the next prompt that runs a ReActorFaceSwap (the module docstring).
SWAP_FAULTS = ("swap_background", "swap_short", "swap_wrong_face", "swap_none")
#: ImageScale's methods, as Pillow names them.
METHODS = {"nearest-exact": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
           "area": Image.Resampling.BOX, "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}
# What the fake's face detector takes for skin: within SKIN_REACH Lab units of the source face's
# skin, and — since a pale face is nearer a grey floor tile or white tights than to a face that
# drifted 25 units warmer or darker — of its hue (within SKIN_HUE degrees) and at least
# SKIN_CHROMA of its colourfulness. The example's diner: its chrome, tiles and lamp glow are
# 12–25 units from Jenny's skin but grey or yellow; its reds are 55+ units away. A near-grey skin
# (chroma under GREY_SKIN) has no hue to hold, and is held to the distance alone.
SKIN_REACH, SKIN_HUE, SKIN_CHROMA, GREY_SKIN = 30.0, 20.0, 0.5, 8.0
# A face is a blob of skin at least this big: a few pixels, a share of the frame (so a far lamp's
# glow is none at any size), and a quarter of the frame's biggest (so a hand is none beside a face).
FACE_PIXELS, FACE_SHARE, FACE_OF_BIGGEST = 12, 0.0004, 0.25


def run_fault(st: State, graph: dict[str, Any]) -> Any:
    """The "run" fault this prompt meets. A swap fault waits for a prompt that runs a
    ReActorFaceSwap: any other prompt passes it by (and it keeps its place in the queue)."""
    if any(spec["class_type"] == "ReActorFaceSwap" for spec in graph.values()):
        return st.take(NAME, "run")
    with st.lock:
        before = list(st.faults)
        waiting = [f for f in before if f.provider == NAME and f.op == "run" and f.kind in SWAP_FAULTS]
        st.faults = [f for f in before if not any(f is w for w in waiting)]
        try:
            return st.take(NAME, "run")
        finally:
            left = st.faults + waiting
            st.faults = [f for f in before if any(f is k for k in left)]


def scaled(frame: Image.Image, width: int, height: int, method: str, crop: str) -> Image.Image:
    """ImageScale of one frame: cut to the asked shape about its centre first when `crop` says."""
    if crop == "center":
        fit = min(frame.width / width, frame.height / height)
        w, h = round(width * fit), round(height * fit)
        frame = frame.crop(((frame.width - w) // 2, (frame.height - h) // 2, (frame.width + w) // 2,
                            (frame.height + h) // 2))
    return frame.resize((width, height), METHODS.get(method, Image.Resampling.BICUBIC))


def upscale_factor(model_name: str) -> int:
    """An upscaler's factor, as its file names it ("RealESRGAN_x2.pth": 2, "4x-UltraSharp.pth": 4)."""
    name = model_name.lower()
    return next((n for n in (8, 4, 3, 2) if f"x{n}" in name or f"{n}x" in name), 4)


def decoded(data: bytes) -> dict[str, Any]:
    """An uploaded clip as LoadVideo hands it on: its frames (RGB) and its rate."""
    from slate.media import probe
    from slate.media.commands import raw_frames_args
    from slate.media.ffmpeg import pipe
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        path.write_bytes(data)
        info = probe(path)
        raw = pipe(raw_frames_args(path, width=info.width, height=info.height))
    size = info.width * info.height * 3
    frames = [Image.frombytes("RGB", (info.width, info.height), raw[i:i + size])
              for i in range(0, len(raw) - size + 1, size)]
    return {"frames": frames, "fps": float(info.fps)}


def encoded(frames: list[Image.Image], fps: float) -> bytes:
    """SaveVideo of frames: exactly those, at that rate, as H.264 (yuv420p) in an mp4. yuv420p
    wants even sides: an odd one loses its last row or column."""
    from slate.media.commands import raw_clip_args
    from slate.media.ffmpeg import pipe
    if not frames:
        raise ValueError("SaveVideo: a video of no frames")
    w, h = frames[0].width // 2 * 2, frames[0].height // 2 * 2
    raw = b"".join(f.convert("RGB").crop((0, 0, w, h)).tobytes() for f in frames)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        pipe(raw_clip_args(out, width=w, height=h, fps=fps), raw)
        return out.read_bytes()


def face_palette(picture: Image.Image) -> dict[str, tuple[int, int, int]]:
    """The hair and skin of a face on a plain ground (an approved face: the head of a turnaround's
    front view). Of what is not ground, the hair is the commonest colour in the top quarter of
    it, and the skin the commonest other colour that covers a tenth of it and is no hair colour."""
    from slate.media.grade import lab
    ground = _plain_ground(picture)
    if ground is None:
        raise ValueError("ReActorFaceSwap: no face found in the source image (the fake reads a face on a plain "
                         "ground)")
    rgb = np.asarray(picture.convert("RGB"), dtype=np.int32)
    figure = np.abs(rgb - np.array(ground)).sum(axis=2) >= 24
    ys = np.nonzero(figure)[0]
    if not len(ys):
        raise ValueError("ReActorFaceSwap: no face found in the source image (it is all ground)")
    packed = rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]
    top = figure.copy()
    top[ys.min() + (ys.max() - ys.min() + 1) // 4:] = False
    colours, counts = np.unique(packed[top], return_counts=True)
    hair = unpacked(int(colours[counts.argmax()]))
    colours, counts = np.unique(packed[figure], return_counts=True)
    for i in np.argsort(-counts, kind="stable"):
        colour = unpacked(int(colours[i]))
        if counts[i] < 0.1 * len(ys):
            break
        if np.linalg.norm(lab(np.array(colour)) - lab(np.array(hair))) > 20:
            return {"hair": hair, "skin": colour}
    raise ValueError("ReActorFaceSwap: no face found in the source image (no skin beside the hair)")


def unpacked(colour: int) -> tuple[int, int, int]:
    return colour >> 16 & 255, colour >> 8 & 255, colour & 255


def skin_of(frame: np.ndarray, skin: tuple[int, int, int]) -> np.ndarray:
    """Where a frame (H x W x 3) is the source's skin, give or take a drift (SKIN_REACH …)."""
    from slate.media.grade import lab
    got, want = lab(frame), lab(np.array(skin))
    near = np.linalg.norm(got - want, axis=2) <= SKIN_REACH
    chroma = float(np.hypot(want[1], want[2]))
    if chroma < GREY_SKIN:
        return near
    turn = np.degrees(np.arctan2(got[..., 2], got[..., 1]) - np.arctan2(want[2], want[1]))
    turn = np.abs((turn + 180) % 360 - 180)
    return near & (turn <= SKIN_HUE) & (np.hypot(got[..., 1], got[..., 2]) >= SKIN_CHROMA * chroma)


def faces_in(frame: np.ndarray, skin: tuple[int, int, int]) -> list[np.ndarray]:
    """The faces of a frame, left to right by their left edge, each a mask of its skin pixels:
    the blobs of skin (4-connected) at least a face's size (FACE_PIXELS …)."""
    from scipy.ndimage import find_objects, label
    blobs, count = label(skin_of(frame, skin))
    if not count:
        return []
    sizes = np.bincount(blobs.ravel())[1:]
    least = max(FACE_PIXELS, FACE_SHARE * blobs.size, FACE_OF_BIGGEST * sizes.max())
    edges = find_objects(blobs)
    kept = sorted((edges[i][1].start, i + 1) for i in range(count) if sizes[i] >= least)
    return [blobs == n for _, n in kept]


def indices(text: object) -> list[int]:
    """A faces index as ReActor takes it: "0", or a comma list ("0,2")."""
    return [int(part) for part in str(text).replace(" ", "").split(",") if part]


def swapped(a: dict[str, Any], fault: str) -> tuple:
    """ReActorFaceSwap, as the fake does it: in each frame the faces `input_faces_index` names
    (left to right from 0; one past the faces found: none) are repainted, their skin pixels only,
    in the source face's skin colour — the eyes, the mouth, the hair and everything else as they
    were. A face model comes back as the source's palette."""
    image = a["input_image"]
    frames = list(image["frames"]) if isinstance(image, dict) else [image]
    source = a.get("source_image")
    source = source["frames"][0] if isinstance(source, dict) else source
    if source is not None:
        palette = face_palette(source)
    elif isinstance(a.get("face_model"), dict):
        palette = a["face_model"]
    else:
        raise ValueError("ReActorFaceSwap: no source image or face model to take a face from")
    wanted, sources = indices(a["input_faces_index"]), indices(a["source_faces_index"])
    # The source picture holds one face (index 0): any other source index finds none, and
    # ReActor then hands the frames back as they were [?].
    if a.get("enabled") in (False, "false") or fault == "swap_none" or any(i != 0 for i in sources):
        out = frames
    else:
        out = []
        for frame in frames:
            rgb = np.asarray(frame.convert("RGB")).copy()
            faces = faces_in(rgb, palette["skin"])
            for i in wanted:
                if i < len(faces):
                    rgb[faces[(i + 1) % len(faces) if fault == "swap_wrong_face" else i]] = palette["skin"]
            if fault == "swap_background":   # the bottom-right corner, a sixth of the frame
                h, w = rgb.shape[:2]
                rgb[h - h // 2:, w - w // 3:] = palette["skin"]
            out.append(Image.fromarray(rgb))
        if fault == "swap_short":
            out = out[:len(out) - len(out) // 4]
    return ({"frames": out} if isinstance(image, dict) else out[0], palette)


#: Numeric inputs with bounds, (node type, input) -> (min, max), as the node's INPUT_TYPES declares
#: them (ImageScale's sizes to MAX_RESOLUTION, a sampler's cfg) [S: nodes.py].
LIMITS: dict[tuple[str, str], tuple[float, float]] = {
    ("ImageScale", "width"): (0, 16384), ("ImageScale", "height"): (0, 16384),
    ("KSampler", "cfg"): (0.0, 100.0), ("KSampler", "denoise"): (0.0, 1.0),
}


# -- validation, as ComfyUI's validate_prompt answers --------------------------------------------
def refused(st: State, b: Book, graph: Any) -> Reply | None:
    if not isinstance(graph, dict) or not graph:
        return Reply(400, {"error": {"type": "invalid_prompt", "message": "Cannot execute because the prompt is empty",
                                     "details": "", "extra_info": {}}, "node_errors": {}})
    for node, spec in graph.items():
        class_type = spec.get("class_type") if isinstance(spec, dict) else None
        if not class_type:
            return Reply(400, {"error": {"type": "invalid_prompt", "message": "Cannot execute because a node is "
                                         "missing the class_type property.", "details": f"Node ID '#{node}'",
                                         "extra_info": {}}, "node_errors": {}})
        if not has(st, class_type):
            return Reply(400, {"error": {"type": "invalid_prompt",
                                         "message": f"Cannot execute because node {class_type} does not exist.",
                                         "details": f"Node ID '#{node}'", "extra_info": {}}, "node_errors": {}})
    outputs = [n for n, spec in graph.items() if NODES[spec["class_type"]].output_node]
    if not outputs:
        return Reply(400, {"error": {"type": "prompt_no_outputs", "message": "Prompt has no outputs", "details": "",
                                     "extra_info": {}}, "node_errors": {}})
    # Each output is validated on its own, as ComfyUI's validate_prompt does: a node's errors name
    # every output that depends on it; the outputs whose branches pass are run, and the answer is
    # 200 with the others' node_errors — a 400 only when no output passes.
    errors: dict[str, Any] = {}
    good: list[str] = []

    def walk(node: str, output: str, seen: set[str]) -> bool:
        if node in seen:
            return True
        seen.add(node)
        spec, kind = graph[node], NODES[graph[node]["class_type"]]
        wrong = [{"type": "required_input_missing", "message": "Required input is missing", "details": name,
                  "extra_info": {"input_name": name}} for name in kind.required if name not in spec["inputs"]]
        fine = True
        for name, value in spec["inputs"].items():
            if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int):
                if str(value[0]) not in graph:
                    wrong.append({"type": "bad_linked_input", "message": "Bad linked input", "details": name,
                                  "extra_info": {"input_name": name}})
                else:
                    fine = walk(str(value[0]), output, seen) and fine
            elif isinstance(kind.required.get(name, kind.optional.get(name)), list) \
                    and value not in kind.required.get(name, kind.optional.get(name)):
                wrong.append({"type": "value_not_in_list", "message": "Value not in list",
                              "details": f"{name}: '{value}' not in (list of length "
                                         f"{len(kind.required.get(name, kind.optional.get(name)))})",
                              "extra_info": {"input_name": name}})
            elif (spec["class_type"], name) in LIMITS and isinstance(value, (int, float)):
                low, high = LIMITS[(spec["class_type"], name)]
                if value > high:
                    wrong.append({"type": "value_bigger_than_max", "message": f"Value {value} bigger than max of "
                                  f"{high}", "details": f"{name}", "extra_info": {"input_name": name}})
                elif value < low:
                    wrong.append({"type": "value_smaller_than_min", "message": f"Value {value} smaller than min of "
                                  f"{low}", "details": f"{name}", "extra_info": {"input_name": name}})
        if spec["class_type"] == "LoadImage" and spec["inputs"].get("image") not in b.inputs:
            wrong.append({"type": "custom_validation_failed", "message": "Custom validation failed for node",
                          "details": f"image - Invalid image file: {spec['inputs'].get('image')}",
                          "extra_info": {"input_name": "image"}})
        if spec["class_type"] == "LoadVideo" and spec["inputs"].get("file") not in b.inputs:
            wrong.append({"type": "custom_validation_failed", "message": "Custom validation failed for node",
                          "details": f"file - Invalid video file: {spec['inputs'].get('file')}",
                          "extra_info": {"input_name": "file"}})
        if wrong:
            found = errors.setdefault(node, {"errors": wrong, "dependent_outputs": [], "class_type": spec["class_type"]})
            found["dependent_outputs"].append(output)
        return fine and not wrong

    for o in outputs:
        if walk(o, o, set()):
            good.append(o)
    b.partial = (good, errors) if errors and good else None
    if errors and not good:
        return Reply(400, {"error": {"type": "prompt_outputs_failed_validation",
                                     "message": "Prompt outputs failed validation", "details": "", "extra_info": {}},
                           "node_errors": errors})
    return None


# -- the routes ----------------------------------------------------------------------------------
def register(router: Router) -> None:
    P = PREFIX

    @router.route("POST", f"{P}/upload/image")
    def upload(st: State, req: Request):
        head = f"Content-Type: {req.headers.get('content-type', '')}\r\n\r\n".encode()
        form = BytesParser(policy=email_policy).parsebytes(head + req.body)
        image = name = None
        fields = {}
        for part in form.iter_parts():
            field_name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                image, name = part.get_payload(decode=True), part.get_filename()
            else:
                fields[field_name] = part.get_content()
        if not image or not name:
            return Reply(400, None)
        b = book(st)
        with b.lock:
            if name in b.inputs and fields.get("overwrite") != "true" and b.inputs[name] != image:
                name = f"{name.rsplit('.', 1)[0]} (1).{name.rsplit('.', 1)[-1]}"
            b.inputs[name] = image
        return Reply(200, {"name": name, "subfolder": "", "type": fields.get("type", "input")})

    @router.route("POST", f"{P}/prompt")
    def prompt(st: State, req: Request):
        body = req.json or {}
        fault = st.take(NAME, "prompt")
        if fault is not None and fault.kind == "status":
            return fault_reply(fault)
        if fault is not None and fault.kind == "drop_before":
            raise Drop()
        b = book(st)
        with b.lock:
            advance(st, b)
            said = refused(st, b, body.get("prompt"))
            if said is not None:
                return said
            graph = body["prompt"]
            extra = dict(body.get("extra_data") or {})
            if "client_id" in body:
                extra["client_id"] = body["client_id"]
            # A newer server takes the id asked for; an older one (the "old_server" fault) makes its own.
            old = fault is not None and fault.kind == "old_server"
            prompt_id = str(uuid.uuid4() if old or not body.get("prompt_id") else body["prompt_id"])
            # A prompt id the server already holds is taken and run again, as the real server does
            # (ComfyUI 0.8.0 on a CPU, issue 56): only the client can keep a graph from running twice.
            b.number += 1
            # Only the outputs whose branches passed validation are run (the real server's way).
            partial, b.partial = b.partial, None
            p = Prompt(b.number, prompt_id, graph, extra,
                       partial[0] if partial else [n for n, s in graph.items() if NODES[s["class_type"]].output_node],
                       time.time())
            run = run_fault(st, graph)
            if run is not None:
                p.ending = run.kind if run.kind in ("oom", "stuck") else ""
                p.seconds = float(run.data.get("seconds", RUN_SECONDS)) if run.kind == "slow" else p.seconds
                p.stamps = run.kind != "no_stamps"
                p.swap = run.kind if run.kind in SWAP_FAULTS else ""
            b.queue.append(p)
            st.create(NAME, "prompt", str((extra.get("slate") or {}).get("model") or "workflow"), graph, id=prompt_id)
        if fault is not None and fault.kind == "drop_after":
            raise Drop()
        return Reply(200, {"prompt_id": prompt_id, "number": p.number, "node_errors": partial[1] if partial else {}})

    def polled(st: State) -> Reply | None:
        fault = st.take(NAME, "poll")
        return fault_reply(fault) if fault is not None and fault.kind == "status" else None

    @router.route("GET", f"{P}/queue")
    def queue(st: State, req: Request):
        said = polled(st)
        if said is not None:
            return said
        b = book(st)
        with b.lock:
            advance(st, b)
            running = [p.item() for p in b.queue[:1] if p.started is not None and p.started <= time.time()]
            pending = [p.item() for p in b.queue[len(running):]]
        return Reply(200, {"queue_running": running, "queue_pending": pending})

    @router.route("POST", f"{P}/queue")
    def queue_change(st: State, req: Request):
        body = req.json or {}
        b = book(st)
        with b.lock:
            advance(st, b)
            running = b.queue[0].id if b.queue and b.queue[0].started is not None else None
            for prompt_id in body.get("delete") or []:
                # Only a waiting prompt is deleted: ComfyUI's queue holds those; the running one is
                # stopped by /interrupt.
                for p in [p for p in b.queue if p.id == prompt_id and p.id != running]:
                    b.queue.remove(p)
                    st.book_cancel({"provider": NAME, "id": p.id, "model": "workflow"}, "deleted")
            if body.get("clear"):
                b.queue = b.queue[:1] if running else []
        return Reply(200, None)

    @router.route("POST", f"{P}/interrupt")
    def interrupt(st: State, req: Request):
        body = req.json if req.body else {}
        b = book(st)
        with b.lock:
            advance(st, b)
            head = b.queue[0] if b.queue and b.queue[0].started is not None else None
            if head is not None and (not body or body.get("prompt_id") in (None, head.id)) \
                    and head.interrupt_at is None:
                # The real server sets a flag its executor reads between nodes: the prompt runs on
                # until the node it is in finishes (ComfyUI 0.8.0 on a CPU, issue 56).
                head.interrupt_at = time.time() + NODE_SECONDS
        return Reply(200, None)

    @router.route("GET", f"{P}/history/(?P<prompt_id>[^/]+)")
    def history_one(st: State, req: Request):
        said = polled(st)
        if said is not None:
            return said
        b = book(st)
        with b.lock:
            advance(st, b)
            entry = b.history.get(req.params["prompt_id"])
            return Reply(200, {req.params["prompt_id"]: json.loads(json.dumps(entry))} if entry else {})

    @router.route("GET", f"{P}/history")
    def history_all(st: State, req: Request):
        b = book(st)
        most = int((req.query.get("max_items") or ["10000"])[0])
        with b.lock:
            advance(st, b)
            ids = list(b.history)[-most:]
            return Reply(200, {i: b.history[i] for i in ids})

    @router.route("GET", f"{P}/view")
    def view(st: State, req: Request):
        fault = st.take(NAME, "view")
        if fault is not None and fault.kind == "status":
            return fault_reply(fault)
        b = book(st)
        name = (req.query.get("filename") or [""])[0]
        kind = (req.query.get("type") or ["output"])[0]
        with b.lock:
            found = b.files.get(name) if kind == "output" else (b.inputs.get(name), "image/png")
        if not found or found[0] is None:
            return Reply(404, None)
        return Reply(200, found[0], content_type=found[1], count=name)

    def info(class_type: str) -> dict[str, Any]:
        kind = NODES[class_type]

        def spec(v: Any) -> list[Any]:   # a combo's list, or a type
            return [v] if isinstance(v, list) else [v, {}]
        return {"input": {"required": {k: spec(v) for k, v in kind.required.items()},
                          "optional": {k: spec(v) for k, v in kind.optional.items()}},
                "output": list(kind.outputs), "name": class_type, "display_name": class_type,
                "output_node": kind.output_node, "category": "fake"}

    @router.route("GET", f"{P}/object_info")
    def object_info(st: State, req: Request):
        return Reply(200, {c: info(c) for c in NODES if has(st, c)})

    @router.route("GET", f"{P}/object_info/(?P<class_type>[^/]+)")
    def object_info_one(st: State, req: Request):
        from urllib.parse import unquote
        class_type = unquote(req.params["class_type"])
        return Reply(200, {class_type: info(class_type)} if has(st, class_type) else {})

    @router.route("GET", f"{P}/system_stats")
    def system_stats(st: State, req: Request):
        return Reply(200, {"system": {"os": "posix", "ram_total": 64 * GB, "ram_free": 40 * GB,
                                      "comfyui_version": VERSION, "python_version": "3.12.0",
                                      "pytorch_version": "2.5.0", "embedded_python": False, "argv": ["main.py"]},
                           "devices": [{"name": "cuda:0 Fake RTX 4090 : cudaMallocAsync", "type": "cuda", "index": 0,
                                        "vram_total": 24 * GB, "vram_free": 20 * GB,
                                        "torch_vram_total": 0, "torch_vram_free": 0}]})
