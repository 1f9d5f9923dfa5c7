"""The example film's ComfyUI workflows (issue 41): a panel, a clip, a face swap and an upscale.

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
  * `faceswap-reactor`: a take in, the take out with a character's face made their approved one
    again — LoadVideo of the uploaded take (slate uploads it through /upload/image, as ComfyUI's
    frontend uploads a video [?]), GetVideoComponents (its frames, sound and rate), LoadImage of
    the character's approved face (the head of their turnaround's front view), ReActorFaceSwap
    (the ReActor custom node pack, Gourieff's comfyui-reactor-node: inswapper_128, RetinaFace
    detection, CodeFormer restoring at weight 0.5 [?: common choices]), CreateVideo (the swapped
    frames, the take's sound [?: linked through; a take without sound passes none], the take's
    rate) and SaveVideo. `face_index` picks whose face: ReActor numbers a frame's faces left to
    right from 0 [?], one past the faces it found swaps none.
  * `upscale-esrgan`: a take in, the take out larger — LoadVideo, GetVideoComponents,
    UpscaleModelLoader and ImageUpscaleWithModel (comfy_extras/nodes_upscale_model.py: Real-ESRGAN
    x2 [?: the file's name]), ImageScale to the size asked (lanczos, no crop: the model's x2 is
    then brought to it exactly), CreateVideo and SaveVideo.

The model file names are the ones ComfyUI's example workflows for these models use [?], and
inswapper_128.onnx, codeformer-v0.1.0.pth and RealESRGAN_x2.pth as ReActor's and the upscalers'
model lists name them [?]: a film whose files are named otherwise edits the loaders' names;
`slate doctor --provider comfyui` names any the server lacks. Sampler settings are common
choices [?], not tuned. SaveVideo's `format` and `codec` are written as plain strings, as older
servers take them; a newer server's wire shape for them is [?]. Only the mapped inputs change per
shot: the rest is the film's to edit.

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

FACESWAP: dict[str, dict[str, Any]] = {
    "10": {"class_type": "LoadVideo", "inputs": {"file": "clip.mp4"}, "_meta": {"title": "The take"}},
    "11": {"class_type": "GetVideoComponents", "inputs": {"video": ["10", 0]}},
    "20": {"class_type": "LoadImage", "inputs": {"image": "face.png"},
           "_meta": {"title": "The character's approved face"}},
    "30": {"class_type": "ReActorFaceSwap", "inputs": {
        "enabled": True, "input_image": ["11", 0], "source_image": ["20", 0], "swap_model": "inswapper_128.onnx",
        "facedetection": "retinaface_resnet50", "face_restore_model": "codeformer-v0.1.0.pth",
        "face_restore_visibility": 1.0, "codeformer_weight": 0.5, "detect_gender_input": "no",
        "detect_gender_source": "no", "input_faces_index": "0", "source_faces_index": "0", "console_log_level": 1},
        "_meta": {"title": "Swap the face"}},
    "40": {"class_type": "CreateVideo", "inputs": {"images": ["30", 0], "fps": 24.0, "audio": ["11", 1]}},
    "41": {"class_type": "SaveVideo", "inputs": {"video": ["40", 0], "filename_prefix": "slate/faceswap",
                                                 "format": "mp4", "codec": "h264"}},
}

FACESWAP_MAPPING = '''\
# What slate fills in faceswap-reactor.json, each slot a "node.input" of it (docs/comfyui.md).
output = "41"           # SaveVideo: the take, its face swapped
job_seconds = 300       # one clip on this machine, queue included (a job is given three times it)

[inputs]
clip = "10.file"        # the take, uploaded as it is (an H.264 mp4)
face = "20.image"       # the character's approved face: the head of their turnaround's front view
face_index = "30.input_faces_index"   # which face of the frame is theirs: "0" the leftmost, "1" the next
fps = "40.fps"          # the take's own frame rate
'''

UPSCALE: dict[str, dict[str, Any]] = {
    "10": {"class_type": "LoadVideo", "inputs": {"file": "clip.mp4"}, "_meta": {"title": "The take"}},
    "11": {"class_type": "GetVideoComponents", "inputs": {"video": ["10", 0]}},
    "20": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "RealESRGAN_x2.pth"}},
    "21": {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["20", 0], "image": ["11", 0]}},
    "22": {"class_type": "ImageScale", "inputs": {"image": ["21", 0], "upscale_method": "lanczos", "width": 1920,
                                                   "height": 1080, "crop": "disabled"},
           "_meta": {"title": "Scale to the size asked"}},
    "40": {"class_type": "CreateVideo", "inputs": {"images": ["22", 0], "fps": 24.0, "audio": ["11", 1]}},
    "41": {"class_type": "SaveVideo", "inputs": {"video": ["40", 0], "filename_prefix": "slate/upscale",
                                                 "format": "mp4", "codec": "h264"}},
}

UPSCALE_MAPPING = '''\
# What slate fills in upscale-esrgan.json, each slot a "node.input" of it (docs/comfyui.md).
output = "41"           # SaveVideo: the take, upscaled
job_seconds = 300       # one clip on this machine, queue included (a job is given three times it)

[inputs]
clip = "10.file"        # the take, uploaded as it is (an H.264 mp4)
width = "22.width"      # the size asked: the model's twice the take's, scaled to it
height = "22.height"
fps = "40.fps"          # the take's own frame rate
'''

#: file name under the film's comfyui/ folder -> its text
FILES = {
    "panel-qwen-edit.json": json.dumps(PANEL, indent=2) + "\n",
    "panel-qwen-edit.toml": PANEL_MAPPING,
    "video-wan21.json": json.dumps(VIDEO, indent=2) + "\n",
    "video-wan21.toml": VIDEO_MAPPING,
    "faceswap-reactor.json": json.dumps(FACESWAP, indent=2) + "\n",
    "faceswap-reactor.toml": FACESWAP_MAPPING,
    "upscale-esrgan.json": json.dumps(UPSCALE, indent=2) + "\n",
    "upscale-esrgan.toml": UPSCALE_MAPPING,
}


def write_example_workflows(root: Path) -> None:
    """The example's workflows and mappings, under `root`/comfyui/."""
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
