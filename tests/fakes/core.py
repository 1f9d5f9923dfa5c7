"""The fake providers' shared machinery: routing, the book of jobs, injected faults, made media.

One process serves every fake provider on 127.0.0.1 (tests/fakes/server.py), each under its own
path prefix (/replicate/v1, /fal, /gemini, /openrouter/api/v1, /elevenlabs), speaking the shapes of
../shared/PROVIDERS.md over real HTTP. What slate does is counted here, where it lands:

  * every request, as received (method, path, headers, JSON body) — for contract tests;
  * every job or generation a provider would bill, by a fingerprint of what was asked — so a
    test can see that no request was made into two jobs;
  * every cancel a provider received for one of its jobs, with what it did (`State.cancelled`):
    a test counts cancel requests where they land;
  * faults queued by a test (POST /_fake/faults) are taken by the provider routes in order:
    an HTTP status with a body and headers, a dropped connection (before or after the job is
    created), a moderation refusal, a failed job, polls that stay busy, a job that never
    finishes (`stuck`: it runs until it is cancelled), an expired output.

Media is real: images are PNGs made from the images sent (so a panel still looks like its
plate), videos are H.264 clips rendered by slate's own ffmpeg functions from the start frame, and
spoken lines are 16-bit PCM of the text's length at the voice's own pitch (`make_speech`).
Test code only.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw


class Drop(Exception):
    """Close the connection without an answer (what a proxy or a crashed server does)."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)   # from the route's pattern

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: Any = None                 # dict/list → JSON; bytes → as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    # How a file misbehaves on its way (State.file_faults): the Content-Length said (a body cut
    # short says more than it sends; -1: none, the body runs until the connection closes), the
    # bytes that follow the body (a padded file: `padding` zero bytes after it), and the name under
    # which the bytes really written to the socket are counted (State.sent).
    declared: int | None = None
    padding: int = 0
    count: str | None = None


@dataclass
class Fault:
    provider: str
    op: str                          # submit | poll | result | download | generate | judge | key | cancel
    kind: str                        # status | drop_before | drop_after | moderation | job_failed | busy | stuck |
                                     # expired | …
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    model: str | None = None         # only for this model, when given
    contains: str | None = None      # only for a request whose text holds this (gemini: the prompt)
    data: dict = field(default_factory=dict)
    every: int = 1                   # only every Nth matching request (3: the 3rd, 6th, 9th …)
    for_seconds: float | None = None  # every matching request for this long from the first one it
                                      # meets (`times` is then not counted down)
    seen: int = 0                    # matching requests met so far (the fake's own count)
    started: float | None = None     # when a `for_seconds` window opened


class State:
    """Everything the fake remembers; one instance per server process."""

    def __init__(self, files_dir: Path):
        self.lock = threading.RLock()
        self.files_dir = files_dir
        self.base = ""  # http://127.0.0.1:PORT, set when the server binds
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.requests: list[dict] = []
            self.jobs: dict[str, dict] = {}
            self.created: list[dict] = []
            self.cancelled: list[dict] = []   # every cancel a job received: provider, id, model, what it did
            self.faults: list[Fault] = []
            self.files: dict[str, tuple[bytes, str]] = {}
            self.file_faults: dict[str, Fault] = {}   # file name -> how each fetch of it misbehaves
            self.sent: dict[str, int] = {}            # file name -> bytes written to the socket, all fetches
            self.keys: dict[str, dict] = {}   # provider -> key info (openrouter /key figures…)
            self.books: dict[str, Any] = {}   # provider -> its fake's own book (ComfyUI's queue and history)

    # -- faults ---------------------------------------------------------------------------------
    def add_faults(self, specs: list[dict]) -> None:
        with self.lock:
            self.faults += [Fault(**s) for s in specs]

    def take(self, provider: str, op: str, model: str | None = None, text: str = "") -> Fault | None:
        """The fault this request meets, if any: the first queued one that matches it and whose
        pattern (every Nth request, a window of seconds) falls on it."""
        with self.lock:
            now = time.monotonic()
            for f in list(self.faults):
                if not (f.provider == provider and f.op == op and (f.model is None or f.model == model)
                        and (f.contains is None or f.contains in text)):
                    continue
                if f.for_seconds is not None:
                    f.started = now if f.started is None else f.started
                    if now - f.started > f.for_seconds:
                        self.faults.remove(f)  # the window closed: this request goes through
                        continue
                    return f
                f.seen += 1
                if f.seen % max(1, f.every):
                    continue  # not this one: the pattern falls on a later request
                f.times -= 1
                if f.times <= 0:
                    self.faults.remove(f)
                return f
        return None

    # -- the book of what would be billed -------------------------------------------------------
    def create(self, provider: str, op: str, model: str, asked: Any, **job) -> dict:
        """A job (or a synchronous generation) the provider would bill for, remembered by a
        fingerprint of what was asked."""
        fp = fingerprint(asked)
        with self.lock:
            record = {"id": job.pop("id", None) or new_id(), "provider": provider, "op": op, "model": model,
                      "fingerprint": fp, "created": time.time(), "polls": 0, **job}
            self.jobs[record["id"]] = record
            self.created.append({k: record[k] for k in ("id", "provider", "op", "model", "fingerprint")})
            return record

    def book_cancel(self, job: dict, outcome: str) -> None:
        """A cancel request that reached one of the provider's jobs, and what it did (`canceled`,
        `already ended`, a fault's status…)."""
        with self.lock:
            self.cancelled.append({"provider": job["provider"], "id": job["id"], "model": job["model"],
                                   "outcome": outcome})

    def put_file(self, data: bytes, suffix: str, content_type: str) -> str:
        """Keep bytes to serve at /files/<id>.<suffix>; returns the absolute URL."""
        file_id = uuid.uuid4().hex[:16]
        with self.lock:
            self.files[f"{file_id}.{suffix}"] = (data, content_type)
        return f"{self.base}/files/{file_id}.{suffix}"


def new_id() -> str:
    return uuid.uuid4().hex[:24]


def fingerprint(asked: Any) -> str:
    return hashlib.sha256(json.dumps(asked, sort_keys=True, default=str).encode()).hexdigest()[:16]


# -- routing ---------------------------------------------------------------------------------------
Route = tuple[str, re.Pattern, Callable[[State, Request], Reply]]


class Router:
    def __init__(self):
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Callable[[State, Request], Reply]) -> None:
        self.routes.append((method, re.compile("^" + pattern + "$"), handler))

    def route(self, method: str, pattern: str):
        def deco(fn):
            self.add(method, pattern, fn)
            return fn
        return deco

    def find(self, method: str, path: str):
        for m, pattern, handler in self.routes:
            match = pattern.match(path)
            if m == method and match:
                return handler, match.groupdict()
        return None, {}


def make_handler(state: State, router: Router):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            req = Request(self.command, parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()},
                          body)
            if not parts.path.startswith("/_fake/"):
                with state.lock:
                    state.requests.append({"method": req.method, "path": req.path, "query": req.query,
                                           "headers": req.headers, "body": _decoded(body)})
            handler, params = router.find(self.command, parts.path)
            if handler is None:
                return self._reply(Reply(404, {"detail": f"no route {self.command} {parts.path}"}))
            req.params = params
            try:
                reply = handler(state, req)
            except Drop:
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            self._reply(reply)

        def _reply(self, reply: Reply) -> None:
            if isinstance(reply.body, (bytes, bytearray)):
                payload, ctype = bytes(reply.body), reply.content_type or "application/octet-stream"
            elif reply.body is None:
                payload, ctype = b"", reply.content_type or "application/json"
            else:
                payload, ctype = json.dumps(reply.body).encode(), reply.content_type or "application/json"
            whole = len(payload) + reply.padding
            declared = whole if reply.declared is None else reply.declared
            self.send_response(reply.status)
            self.send_header("Content-Type", ctype)
            if declared >= 0:
                self.send_header("Content-Length", str(declared))
            for k, v in reply.headers.items():
                self.send_header(k, v)
            if declared != whole:
                self.send_header("Connection", "close")
            self.end_headers()
            if reply.count is None and not reply.padding and declared == whole:
                self.wfile.write(payload)
                return
            self._stream(reply, payload)
            if declared != whole:   # said more (or nothing): the connection closes where the body stops
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass

        def _stream(self, reply: Reply, payload: bytes) -> None:
            """The body in 64 KB writes (the padding as zeros), each counted in State.sent once the
            socket took it; a client that stops reading ends it."""
            zeros = bytes(1 << 16)
            chunks = (payload[i:i + (1 << 16)] for i in range(0, len(payload), 1 << 16))
            left = reply.padding
            try:
                for chunk in chunks:
                    self._counted(reply, chunk)
                while left > 0:
                    piece = zeros[:min(left, len(zeros))]
                    self._counted(reply, piece)
                    left -= len(piece)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _counted(self, reply: Reply, chunk: bytes) -> None:
            self.wfile.write(chunk)
            if reply.count is not None:
                with state.lock:
                    state.sent[reply.count] = state.sent.get(reply.count, 0) + len(chunk)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, *args) -> None:
            pass

    return Handler


def _decoded(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return {"_bytes": len(body)}


def fault_reply(fault: Fault) -> Reply:
    """The reply of a `status` fault (the common case)."""
    return Reply(fault.status, fault.body if fault.body is not None else {"detail": f"injected {fault.status}"},
                 fault.headers)


# -- media -----------------------------------------------------------------------------------------
def decode_image(ref: str | bytes) -> Image.Image:
    """An image sent as a data URL, a base64 string, raw bytes, or a URL of this fake's files."""
    if isinstance(ref, bytes):
        data = ref
    elif ref.startswith("data:"):
        data = base64.b64decode(ref.split(",", 1)[1])
    else:
        data = base64.b64decode(ref)
    return Image.open(io.BytesIO(data)).convert("RGB")


# Colour words a model reads off a wardrobe line ("Wearing: Navy waxed work coat …"), as the
# example film's wardrobe paints them (its scene's hex colours), and a few plain ones. A real model
# reads any; the fakes need only the words the tests' films use.
COLOUR_WORDS = {"cherry-red": "#b3202a", "navy": "#1f3a5f", "red": "#b3202a", "blue": "#1f3a5f",
                "green": "#2e6b3a", "yellow": "#d9b020", "black": "#1a1a1a", "white": "#f0f0f0"}


def wardrobe_colours(prompt: str) -> list[str | None]:
    """Per person of a panel or clip prompt, in order, the hex of the first colour word of what
    they wear (None: no wardrobe said, or no colour in it). A person's entry is "id: Name, …"
    (how the tests' films introduce people; a place's entry, "diner: Interior of …", is not one),
    running to the next entry, and its wardrobe follows "Wearing:"."""
    starts = list(re.finditer(r"(?:^|(?<=\. )|(?<=\n))[a-z][a-z0-9_-]*: ", prompt))
    out = []
    for i, m in enumerate(starts):
        text = prompt[m.end():starts[i + 1].start() if i + 1 < len(starts) else len(prompt)]
        if not re.match(r"[A-Z][\w'-]*,", text):
            continue
        wearing = text.partition("Wearing:")[2].split("\n")[0].lower()
        found = [(wearing.find(w), -len(w), hexed) for w, hexed in COLOUR_WORDS.items()
                 if re.search(rf"(?<![a-z-]){re.escape(w)}(?![a-z-])", wearing)]
        out.append(min(found)[2] if found else None)
    return out


def _figures(refs: list[Image.Image], prompt: str, views: int = 4) -> list[Image.Image]:
    """Each sheet on a plain ground (a turnaround, `views` cells wide) as its first view cut from
    the ground (RGBA), dressed in the colour its person's wardrobe line names (the sheets come in
    the prompt's order of people); a small picture on a plain ground (a prop) whole."""
    from slate.providers.local_draw import dress
    colours = wardrobe_colours(prompt)
    figures = []
    for ref in refs:
        ground = _plain_ground(ref)
        if ground is None:
            continue
        cell = ref.crop((0, 0, ref.width // views, ref.height)) if ref.width >= 2 * ref.height else ref
        rgba = cell.convert("RGBA")
        rgba.putdata([(r, g, b, 0 if abs(r - ground[0]) + abs(g - ground[1]) + abs(b - ground[2]) < 24 else 255)
                      for r, g, b, _ in rgba.getdata()])
        bbox = rgba.getchannel("A").getbbox()
        rgba = rgba.crop(bbox) if bbox else rgba
        colour = colours[len(figures)] if len(figures) < len(colours) else None
        figures.append(dress(rgba, colour) if colour else rgba)
    return figures


def _stand(base: Image.Image, figures: list[Image.Image], height: float) -> Image.Image:
    """The figures stood on the floor of `base`, side by side, each `height` of the frame tall
    at most (as a model stands the shot's people on its set)."""
    width, tall = base.size
    for i, fig in enumerate(figures):
        fig = fig.copy()
        fig.thumbnail((width // max(2, len(figures) + 1), int(tall * height)))
        x = (i + 1) * width // (len(figures) + 1) - fig.width // 2
        base.paste(fig, (x, tall - fig.height - tall // 20), fig)
    return base


def make_image(inputs: list[Image.Image], width: int, height: int, seed: int = 0, prompt: str = "") -> bytes:
    """A 'generated' panel, drawn as an image model would: the shot's people (each turnaround's
    first view, dressed in the colour their wardrobe line names) standing on the location plate
    (the first picture that is not a sheet on a plain ground). A composite to polish (a second
    picture: the first one sent when the prompt says so, else the last) is kept as it is; a single
    picture is framed to the asked size."""
    pictures = [i for i in inputs if _plain_ground(i) is None]
    if len(pictures) >= 2:
        composite = pictures[0] if "composite to polish" in prompt else pictures[-1]
        base = composite.convert("RGB").resize((width, height))
    elif pictures:
        base = _stand(pictures[0].convert("RGB").resize((width, height)), _figures(inputs, prompt), 0.75)
    else:
        base = _stand(Image.new("RGB", (width, height), (90, 90, 110)), _figures(inputs, prompt), 0.75)
    draw = ImageDraw.Draw(base)
    draw.rectangle([0, 0, 6 + seed % 5, 6], fill=(seed % 255, 40, 40))
    buf = io.BytesIO()
    base.save(buf, format="PNG")
    return buf.getvalue()


def _plain_ground(img: Image.Image) -> tuple[int, int, int] | None:
    """The colour of a plain ground (four corners alike), None for a picture (a plate)."""
    px = img.convert("RGB")
    corners = [px.getpixel(p) for p in ((0, 0), (img.width - 1, 0), (0, img.height - 1), (img.width - 1, img.height - 1))]
    first = corners[0]
    return first if all(sum(abs(a - b) for a, b in zip(c, first)) < 24 for c in corners) else None


def reference_picture(refs: list[Image.Image], width: int, height: int, views: int = 4,
                      prompt: str = "") -> Image.Image:
    """What a reference-to-video model 'makes' of its references, for a fake: the one picture
    with no plain ground (the set) as the background, and from each sheet on a plain ground its
    first view (a sheet is `views` cells wide) stood on the floor, side by side, dressed in the
    colour the prompt's wardrobe line names; a small picture on a plain ground (a prop) set in whole."""
    sets = [r for r in refs if _plain_ground(r) is None]
    base = (sets[0] if sets else Image.new("RGB", (width, height), (90, 90, 110))).convert("RGB").resize((width, height))
    return _stand(base, _figures(refs, prompt, views), 0.8)


def flat_png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    """A picture of one colour: what a safety filter or a failed generation sends back."""
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, format="PNG")
    return buf.getvalue()


def make_video(start: Image.Image, end: Image.Image | None, seconds: float, width: int, height: int,
               fps: int = 24, audio: bool = False) -> bytes:
    """A real H.264 clip animated from the start frame (cross-fading to the end frame); with
    `audio`, an AAC track of its length (a 330 Hz tone over pink noise), as a model asked for its
    sound answers."""
    from slate.media import add_sound_bed, render_clip
    with tempfile.TemporaryDirectory() as tmp:
        s = Path(tmp) / "start.png"
        start.resize((width, height)).save(s)
        e = None
        if end is not None:
            e = Path(tmp) / "end.png"
            end.resize((width, height)).save(e)
        kept = _kept_video(s, e, seconds, width, height, fps, audio)
        if kept is not None and kept.is_file():
            return kept.read_bytes()
        out = Path(tmp) / "clip.mp4"
        render_clip(s, out, width=width, height=height, fps=fps, seconds=seconds, movement="dolly_in", end_png=e)
        if audio:
            add_sound_bed(out, seconds=seconds, tone_hz=FAKE_TONE_HZ, seed=7)
        data = out.read_bytes()
        if kept is not None:
            from slate.providers.storage_local import write_atomic
            write_atomic(kept, data)   # whole or absent: the suite's fakes and workers share the folder
        return data


def _kept_video(start: Path, end: Path | None, seconds: float, width: int, height: int, fps: int,
                audio: bool) -> Path | None:
    """Where the suite keeps a fake's clip for these frames and this request (the render memo the
    local provider uses, providers/local.py RENDER_MEMO): the fakes of a `make test` answered some
    fifty jobs with the same few 720p clips, 54 s of ffmpeg CPU in the fast loop alone. x264 is
    deterministic for one input and build, so the kept clip is the one it would render. None when
    no memo is set (a fake started outside the suite renders every clip)."""
    from slate.media.session_memo import memo_path
    return memo_path(("fake-video-1", seconds, width, height, fps, audio, FAKE_TONE_HZ), (start, end), prefix="fake-")


#: The pitch of the sound a fake's model makes when asked for it.
FAKE_TONE_HZ = 330


SIZES = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}


def schema_answer(schema: dict, score: float = 0.92, reason: str = "matches the reference") -> Any:
    """A value that conforms to a response schema (Gemini's OpenAPI subset, or JSON Schema):
    every number is `score`, every string a reason, every boolean true."""
    kind = str(schema.get("type", "object")).lower()
    if "anyOf" in schema:
        return schema_answer(schema["anyOf"][0], score, reason)
    if kind == "object":
        props = schema.get("properties", {})
        return {k: schema_answer(v, score, reason) for k, v in props.items()}
    if kind == "array":
        items = schema.get("items", {})
        return [] if str(items.get("type", "")).lower() == "string" else [schema_answer(items, score, reason)]
    if kind in ("number", "integer"):
        return score if kind == "number" else int(score * 10)
    if kind == "boolean":
        return True
    if "enum" in schema:
        return schema["enum"][0]
    return reason


# -- speech ----------------------------------------------------------------------------------------
#: How fast a fake voice speaks: characters a second (conversational English, about 150 words a minute).
FAKE_CHARS_PER_SECOND = 14.0


def voice_pitch(voice: str) -> float:
    """The fundamental a fake voice speaks at, 90–290 Hz, by its name or id (so voices differ)."""
    return 90.0 + int(hashlib.sha256(voice.encode()).hexdigest()[:4], 16) % 200


def make_speech(text: str, voice: str, rate: int = 24000, seconds: float | None = None) -> bytes:
    """A 'spoken' line as raw signed 16-bit little-endian mono PCM: a voiced buzz at the voice's
    pitch (a fundamental and its harmonics) in syllable-length bursts, as long as the text takes at
    FAKE_CHARS_PER_SECOND (or `seconds`), then 0.1 s of quiet. Speech-shaped for the gate's energy
    spans; not words."""
    import numpy as np
    length = seconds if seconds is not None else max(0.4, len(text) / FAKE_CHARS_PER_SECOND)
    t = np.arange(int(length * rate)) / rate
    f0 = voice_pitch(voice)
    buzz = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t) ** 2
    signal = np.concatenate([buzz * syllables, np.zeros(int(0.1 * rate))])
    return (signal / np.abs(signal).max() * 0.5 * 32767).astype("<i2").tobytes()
