"""The example film's ComfyUI workflows (issue 41): a panel and a clip, built from ComfyUI's core nodes.

`slate init --example` writes them under the film's `comfyui/` folder, each in ComfyUI's API format
with its mapping beside it (providers/comfyui_workflow.py says the format), so `slate run DIR
--provider comfyui` renders the example on a ComfyUI that has these nodes and model files:

  * `panel-qwen-edit`: Qwen-Image-Edit 2509 edits the location plate (or the shot's composite),
    scaled to the panel, into the shot, with the characters' turnaround sheets as its other images
    — UNETLoader, CLIPLoader (type "qwen_image" [?]), VAELoader, LoadImage, ImageScale,
    TextEncodeQwenImageEditPlus (comfy_extras/nodes_qwen.py: clip, prompt, and optional vae,
    image1–3 [V]), VAEEncode, KSampler, VAEDecode, SaveImage (ComfyUI's nodes.py [V]). It takes
    three images: the plate and two sheets; a shot of three characters gives the second loader two
    sheets one under another, and a shot of one runs without the second loader.
  * `video-wan21`: Wan 2.1's first-last-frame model from the start panel (and the end panel) —
    UNETLoader, CLIPLoader (type "wan"), VAELoader, CLIPVisionLoader, CLIPVisionEncode,
    WanFirstLastFrameToVideo (comfy_extras/nodes_wan.py [V]), ModelSamplingSD3, KSampler,
    VAEDecode, CreateVideo and SaveVideo (comfy_extras/nodes_video.py [V]). Its length is 4·n+1
    frames [V: the node's step]; a shot without an end frame runs it without the end loader and its
    CLIP vision encoding (both optional inputs of WanFirstLastFrameToVideo [V]).

The model file names are the ones ComfyUI's example workflows for these models use [?]: a film
whose files are named otherwise edits the loaders' names; `slate doctor --provider comfyui` names
any the server lacks. Sampler settings are common choices [?], not tuned. SaveVideo's `format` and
`codec` are written as plain strings, as older servers take them; a newer server's wire shape for
them is [?]. Only the mapped inputs change per shot: the rest is the film's to edit.

It imports nothing of ours: these are data, as the rest of the example film is.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = "comfyui"
NEGATIVE = ("blurry, out of focus, deformed hands, extra fingers, extra limbs, distorted face, text, watermark, "
            "low quality, jpeg artifacts")

PANEL: dict[str, dict[str, Any]] = {
    "37": {"class_type": "UNETLoader", "inputs": {"unet_name": "qwen_image_edit_2509_fp8_e4m3fn.safetensors",
                                                  "weight_dtype": "default"}},
    "38": {"class_type": "CLIPLoader", "inputs": {"clip_name": "qwen_2.5_vl_7b_fp8_scaled.safetensors",
                                                  "type": "qwen_image"}},
    "39": {"class_type": "VAELoader", "inputs": {"vae_name": "qwen_image_vae.safetensors"}},
    "10": {"class_type": "LoadImage", "inputs": {"image": "plate.png"},
           "_meta": {"title": "The plate, or the shot's composite"}},
    "20": {"class_type": "LoadImage", "inputs": {"image": "character-1.png"}, "_meta": {"title": "First character"}},
    "21": {"class_type": "LoadImage", "inputs": {"image": "character-2.png"},
           "_meta": {"title": "Second character (and any after, one under another)"}},
    "11": {"class_type": "ImageScale", "inputs": {"image": ["10", 0], "upscale_method": "lanczos", "width": 1024,
                                                   "height": 576, "crop": "center"},
           "_meta": {"title": "Scale to the panel"}},
    "6": {"class_type": "TextEncodeQwenImageEditPlus", "inputs": {
        "clip": ["38", 0], "prompt": "filled by slate: the shot's panel prompt", "vae": ["39", 0],
        "image1": ["11", 0], "image2": ["20", 0], "image3": ["21", 0]}, "_meta": {"title": "Prompt and references"}},
    "7": {"class_type": "TextEncodeQwenImageEditPlus", "inputs": {"clip": ["38", 0], "prompt": NEGATIVE},
          "_meta": {"title": "Negative prompt"}},
    "12": {"class_type": "VAEEncode", "inputs": {"pixels": ["11", 0], "vae": ["39", 0]}},
    "3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 2.5, "sampler_name": "euler",
                                               "scheduler": "simple", "denoise": 1.0, "model": ["37", 0],
                                               "positive": ["6", 0], "negative": ["7", 0],
                                               "latent_image": ["12", 0]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["39", 0]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "slate/panel", "images": ["8", 0]}},
}

PANEL_MAPPING = '''\
# What slate fills in panel-qwen-edit.json, each slot a "node.input" of it (docs/comfyui.md).
output = "9"            # SaveImage: the panel
job_seconds = 120       # one panel on this machine, queue included (a job is given three times it)

[inputs]
prompt = "6.prompt"
seed = "3.seed"
width = "11.width"
height = "11.height"
image = "10.image"      # the location plate, or the shot's human composite when it has one
characters = ["20.image", "21.image"]   # the shot's turnaround sheets, in its order
'''

VIDEO: dict[str, dict[str, Any]] = {
    "37": {"class_type": "UNETLoader", "inputs": {"unet_name": "wan2.1_flf2v_720p_14B_fp16.safetensors",
                                                  "weight_dtype": "default"}},
    "38": {"class_type": "CLIPLoader", "inputs": {"clip_name": "umt5_xxl_fp8_e4m3fn_scaled.safetensors",
                                                  "type": "wan"}},
    "39": {"class_type": "VAELoader", "inputs": {"vae_name": "wan_2.1_vae.safetensors"}},
    "49": {"class_type": "CLIPVisionLoader", "inputs": {"clip_name": "clip_vision_h.safetensors"}},
    "48": {"class_type": "ModelSamplingSD3", "inputs": {"model": ["37", 0], "shift": 8.0}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "filled by slate: the shot's clip prompt",
                                                      "clip": ["38", 0]}, "_meta": {"title": "Prompt"}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": NEGATIVE + ", flicker, jitter, morphing",
                                                      "clip": ["38", 0]}, "_meta": {"title": "Negative prompt"}},
    "51": {"class_type": "LoadImage", "inputs": {"image": "start.png"}, "_meta": {"title": "Start panel"}},
    "52": {"class_type": "LoadImage", "inputs": {"image": "end.png"}, "_meta": {"title": "End panel"}},
    "53": {"class_type": "CLIPVisionEncode", "inputs": {"clip_vision": ["49", 0], "image": ["51", 0],
                                                        "crop": "none"}},
    "54": {"class_type": "CLIPVisionEncode", "inputs": {"clip_vision": ["49", 0], "image": ["52", 0],
                                                        "crop": "none"}},
    "50": {"class_type": "WanFirstLastFrameToVideo", "inputs": {
        "positive": ["6", 0], "negative": ["7", 0], "vae": ["39", 0], "width": 832, "height": 480, "length": 81,
        "batch_size": 1, "clip_vision_start_image": ["53", 0], "clip_vision_end_image": ["54", 0],
        "start_image": ["51", 0], "end_image": ["52", 0]}},
    "3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 5.0, "sampler_name": "uni_pc",
                                               "scheduler": "simple", "denoise": 1.0, "model": ["48", 0],
                                               "positive": ["50", 0], "negative": ["50", 1],
                                               "latent_image": ["50", 2]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["39", 0]}},
    "57": {"class_type": "CreateVideo", "inputs": {"images": ["8", 0], "fps": 24.0}},
    "58": {"class_type": "SaveVideo", "inputs": {"video": ["57", 0], "filename_prefix": "slate/clip",
                                                 "format": "mp4", "codec": "h264"}},
}

VIDEO_MAPPING = '''\
# What slate fills in video-wan21.json, each slot a "node.input" of it (docs/comfyui.md).
output = "58"           # SaveVideo: the clip
frames_step = 4         # Wan makes 4·n+1 frames: a shot is asked the next such count up
without_end = ["52", "54"]   # a shot with no end panel runs without the end loader and its encoding
job_seconds = 600       # one clip on this machine, queue included (a job is given three times it)

[inputs]
prompt = "6.text"
seed = "3.seed"
width = "50.width"
height = "50.height"
frames = "50.length"    # the shot's seconds at the film's frame rate
fps = "57.fps"          # the film's frame rate
start_image = "51.image"
end_image = "52.image"
'''

#: file name under the film's comfyui/ folder -> its text
FILES = {
    "panel-qwen-edit.json": json.dumps(PANEL, indent=2) + "\n",
    "panel-qwen-edit.toml": PANEL_MAPPING,
    "video-wan21.json": json.dumps(VIDEO, indent=2) + "\n",
    "video-wan21.toml": VIDEO_MAPPING,
}


def write_example_workflows(root: Path) -> None:
    """The example's workflows and mappings, under `root`/comfyui/."""
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
