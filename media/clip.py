"""CLIP image embeddings for drift checks (open-clip-torch: the optional extra `slate[clip]`).

`load(model, weights)` builds an open_clip model on the CPU: `weights` is a pretrained tag
open_clip knows (fetched from a hub, so only where the machine can reach one), a path to a
checkpoint file, or "random" (an untrained model: for tests of this code, never for a film).
Without open-clip-torch installed, or without weights that load, it returns None with the
reason, and drift checks go on with SSIM and colour statistics alone (the run says so once).

It must never download anything unasked, or run on a GPU it was not given.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image

log = logging.getLogger("slate.clip")
# Reasons already said (once a process): bounded by the few reasons `load` can give.
_SAID: set[str] = set()


class Embedder:
    """Unit-length image embeddings from one CLIP model; cosine similarity between images."""

    def __init__(self, model, preprocess, name: str):
        self.model, self.preprocess, self.name = model, preprocess, name

    def embed(self, images: list) -> np.ndarray:
        import torch
        batch = torch.stack([self.preprocess(_pil(i)) for i in images])
        with torch.no_grad():
            out = self.model.encode_image(batch).float()
        out = out / out.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return out.cpu().numpy()

    def similarity(self, a, b) -> float:
        ea, eb = self.embed([a, b])
        return float(np.clip(ea @ eb, -1.0, 1.0))


def _pil(image) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, np.ndarray):
        return Image.fromarray(image.astype(np.uint8)).convert("RGB")
    with Image.open(image) as img:
        return img.convert("RGB")


def load(model: str, weights: str) -> tuple[Embedder | None, str]:
    """(the embedder, "") or (None, why CLIP is off)."""
    if not weights:
        return None, "no CLIP weights set (clip_weights in slate.toml: a checkpoint path or a pretrained tag)"
    try:
        import open_clip
        import torch
    except ImportError:
        return None, "open-clip-torch is not installed (pip install 'slate[clip]')"
    try:
        torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
        pretrained = None if weights == "random" else weights
        if pretrained and Path(pretrained).suffix and not Path(pretrained).is_file():
            return None, f"no CLIP checkpoint at {pretrained}"
        if weights == "random":
            torch.manual_seed(0)  # a repeatable untrained model, for tests
        made, _, preprocess = open_clip.create_model_and_transforms(model, pretrained=pretrained, device="cpu")
        made.eval()
        return Embedder(made, preprocess, f"{model}:{Path(weights).name if pretrained else weights}"), ""
    except Exception as exc:  # noqa: BLE001 — weights that do not load: CLIP is off, with why
        return None, f"CLIP {model} with {weights!r} did not load ({type(exc).__name__}: {str(exc)[:160]})"


def say_once(why: str) -> None:
    if why and why not in _SAID:
        _SAID.add(why)
        log.warning("CLIP drift is off: %s; drift is measured with SSIM and colour statistics", why)
