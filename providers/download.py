"""Fetching what a provider made, safely, and checking it before any gate sees it.

A provider's output is a URL it hands back (a CDN link that expires in about an hour, or an
authenticated content endpoint). Fetching it is the one place slate follows a URL someone else
chose, so `fetch`:

  * takes https only — plain http or loopback only with SLATE_ALLOW_LOOPBACK_DOWNLOADS=1 (fakes);
  * takes only hosts on the provider's allow-list, and sends the key only to the provider's own
    API host, never to a CDN;
  * resolves the host and refuses private, loopback, link-local (169.254.169.254), multicast and
    reserved addresses, again on every redirect (at most 5), followed by hand;
  * stops past a byte limit and a total time limit;
  * writes to the path it is given (the governor's temporary name; it renames afterwards).

`checked_video` and `checked_image` then hold the file to what was asked: frames, a duration no
shorter than asked, a codec ffmpeg decodes; an image that Pillow opens in a known format within
its decompression-bomb limit (an error here, not a warning), re-encoded as PNG.

It must never follow a redirect unchecked, write outside the given path, or send a key to a host
that is not the provider's API.
"""
from __future__ import annotations

import io
import ipaddress
import os
import socket
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from PIL import Image

from slate.media import MediaError, probe
from slate.providers.errors import BadOutput, CutShort, ProviderTimeout, TransientServerError
from slate.providers.http import error_for, is_loopback, tls, where

MAX_VIDEO_BYTES = 512 * 1024 * 1024
MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
DOWNLOAD_SECONDS = 300.0
IMAGE_FORMATS = ["PNG", "JPEG", "WEBP"]

#: The most a clip may weigh, per pixel of its frame and second: 1 bit per pixel per frame at
#: 30 fps — 62 Mbit/s at 1080p, 28 Mbit/s at 720p. Real models deliver H.264 at a fraction of that
#: (about 0.2–0.4 bit per pixel per frame: 8–20 Mbit/s at 1080p), so no real clip comes near it,
#: while a file padded to hundreds of MB is refused at its header instead of downloaded whole.
CLIP_BITS_PER_PIXEL_SECOND = 30
#: What a clip may add beyond its pictures: the container, an audio track, a model's first frames.
CLIP_BYTES_SLACK = 8 * 1024 * 1024
#: A clip's frame when it is not known (a job collected after a crash): the largest any model makes.
LARGEST_FRAME = (3840, 2160)


def clip_seconds_bound(seconds: float) -> float:
    """The longest clip a model may make for `seconds` asked: a model rounds a shot up to a length
    it makes (Kling 5 or 10 s, Veo 4/6/8, a 4 s minimum), never to more than twice it plus 2 s."""
    return 2 * max(0.0, seconds) + 2


def clip_limit(seconds: float, width: int | None = None, height: int | None = None) -> tuple[int, str]:
    """The byte limit for a clip of `seconds` at width x height (LARGEST_FRAME when not known), and
    the words that say what it bounds ("a 4 s clip at 1280x720"). Unknown seconds (0): MAX_VIDEO_BYTES."""
    w, h = (width, height) if width and height else LARGEST_FRAME
    if seconds <= 0:
        return MAX_VIDEO_BYTES, "a clip"
    pictures = w * h * CLIP_BITS_PER_PIXEL_SECOND * clip_seconds_bound(seconds) / 8
    return min(MAX_VIDEO_BYTES, int(pictures) + CLIP_BYTES_SLACK), f"a {seconds:g} s clip at {w}x{h}"


def loopback_allowed() -> bool:
    return os.environ.get("SLATE_ALLOW_LOOPBACK_DOWNLOADS") == "1"


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    return any(host == a or host.endswith("." + a) for a in allowed)


def check_address(provider: str, host: str, port: int) -> None:
    """Refuse a host that resolves anywhere but the public internet (loopback for fakes, if allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransientServerError(f"cannot resolve the output host {host}: {exc.strerror}", provider=provider) from None
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if ip.is_loopback and loopback_allowed():
            continue
        if not ip.is_global or ip.is_multicast:
            raise BadOutput(f"the output URL's host {host} resolves to {ip}, which is not a public address: "
                            f"refused", provider=provider)


def check_url(provider: str, url: str, allowed_hosts: tuple[str, ...]) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    loop = is_loopback(host)
    if loop and not loopback_allowed():
        raise BadOutput(f"the output URL points at this machine ({host}): refused", provider=provider)
    if parts.scheme != "https" and not (loop and parts.scheme == "http"):
        raise BadOutput(f"the output URL is {parts.scheme}://, not https: refused", provider=provider)
    if not loop and not _host_allowed(host, allowed_hosts):
        raise BadOutput(f"the output host {host} is not one {provider} serves files from "
                        f"({', '.join(allowed_hosts)}): refused", provider=provider)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    check_address(provider, host, port)
    return host, port


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 1_000_000 else f"{n:,} bytes"


def fetch(provider: str, url: str, dest: Path, *, allowed_hosts: tuple[str, ...], max_bytes: int,
          what: str = "", auth_headers: dict[str, str] | None = None, auth_host: str | None = None,
          seconds: float = DOWNLOAD_SECONDS, transport: httpx.BaseTransport | None = None) -> Path:
    """Download `url` to `dest` within the rules of the module docstring. `what` names what
    `max_bytes` bounds ("a 4 s clip at 1280x720"), for the message of a file larger than it.

    Said in a film-maker's words: a file larger than `max_bytes` is refused at its Content-Length,
    or stopped as soon as the streamed bytes pass it (BadOutput: it ran and was billed); a redirect
    off the provider's file host is refused naming the host (BadOutput); a body cut short is
    `CutShort` (a GET: asked again) with the bytes received of those declared."""
    deadline = time.monotonic() + seconds
    bound = f"larger than {what} can be ({_mb(max_bytes)} at most)" if what else \
        f"over the {max_bytes:,} byte limit"
    first = urlsplit(url)
    origin = (first.hostname or "", first.port)
    # The process's one TLS context (providers/http.py `tls`): a CA bundle loaded per download cost
    # two fault-table runs 1.5 s of CPU (py-spy), about 40 ms a file.
    with httpx.Client(follow_redirects=False, timeout=httpx.Timeout(30.0), transport=transport,
                      verify=tls()) as http:
        for hop in range(6):
            if hop:
                _check_redirect(provider, url, origin, allowed_hosts)
            host, _port = check_url(provider, url, allowed_hosts)
            headers = auth_headers if auth_headers and host == auth_host else {}
            declared = received = written = 0
            streamed: httpx.Response | None = None
            try:
                with http.stream("GET", url, headers=headers) as response:
                    streamed = response
                    if response.status_code in (301, 302, 303, 307, 308):
                        location = response.headers.get("location")
                        if not location:
                            raise BadOutput(f"a redirect without a location from {where(url)}", provider=provider)
                        url = str(httpx.URL(url).join(location))
                        continue
                    if response.status_code >= 400:
                        response.read()
                        raise error_for(provider, response)
                    declared = int(response.headers.get("content-length") or 0)
                    if declared > max_bytes:
                        raise BadOutput(f"the provider's file is {_mb(declared)}, {bound}: refused at its "
                                        f"header, nothing downloaded", provider=provider)
                    with open(dest, "wb") as out:
                        for chunk in response.iter_bytes(1 << 16):
                            received = response.num_bytes_downloaded   # as sent (Content-Length counts these)
                            written += len(chunk)
                            if written > max_bytes:
                                raise BadOutput(f"the provider's file passed {_mb(max_bytes)}, {bound}: stopped "
                                                f"after {written:,} bytes", provider=provider)
                            if time.monotonic() > deadline:
                                raise ProviderTimeout(f"downloading {where(url)} took over {seconds:.0f} s",
                                                      provider=provider)
                            out.write(chunk)
                        out.flush()
                        os.fsync(out.fileno())
                    if declared and response.num_bytes_downloaded < declared:
                        raise CutShort(response.num_bytes_downloaded, declared, provider)
                    return dest
            except httpx.TimeoutException:
                raise ProviderTimeout(f"downloading {where(url)} timed out", provider=provider) from None
            except httpx.RemoteProtocolError:
                # The connection closed before the body ended (fewer bytes than Content-Length,
                # an unfinished chunked body): the file was cut short on its way.
                got = max(received, streamed.num_bytes_downloaded if streamed is not None else 0)
                raise CutShort(got, declared, provider) from None
            except httpx.TransportError as exc:
                raise TransientServerError(f"downloading {where(url)} failed ({type(exc).__name__})",
                                           provider=provider) from None
        raise BadOutput(f"too many redirects from {where(url)}", provider=provider)


def _check_redirect(provider: str, url: str, origin: tuple[str, int | None], allowed_hosts: tuple[str, ...]) -> None:
    """A redirect goes only to a host the provider serves files from (its allow-list); any other
    is refused naming it, before anything is asked of it. A fake on this machine stands for all
    of its provider's hosts (API and CDN, as 127.0.0.1 and localhost) at one port: a redirect to
    another port is to another server, off the provider's file host."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if is_loopback(origin[0]):
        if is_loopback(host) and parts.port == origin[1]:
            return
    elif not is_loopback(host) and _host_allowed(host, allowed_hosts):
        return
    shown = f"{host}:{parts.port}" if parts.port else host
    raise BadOutput(f"the provider's file was redirected off its file host, to {shown}: refused, nothing fetched "
                    f"from it", provider=provider)


def checked_video(provider: str, path: Path, *, seconds: float) -> Path:
    """The file is a video ffmpeg decodes, with frames, no shorter than asked."""
    try:
        p = probe(path)
    except (MediaError, OSError, ValueError) as exc:
        cause = exc.cause if isinstance(exc, MediaError) else str(exc)
        raise BadOutput(f"what the provider sent is not a video ({(cause or type(exc).__name__)[:200]})",
                        provider=provider) from None
    if not p.frames or not p.duration:
        raise BadOutput("what the provider sent has no frames", provider=provider)
    if p.duration + 0.1 < seconds:
        raise BadOutput(f"the clip lasts {p.duration:.2f} s, shorter than the {seconds:g} s asked",
                        provider=provider)
    return path


def checked_image(provider: str, data: bytes) -> bytes:
    """PNG bytes of an image that opens in a known format within the pixel limit (else BadOutput)."""
    if len(data) > MAX_IMAGE_BYTES:
        raise BadOutput(f"the image is {len(data):,} bytes, over the {MAX_IMAGE_BYTES:,} limit", provider=provider)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as img:
                if img.width * img.height > MAX_IMAGE_PIXELS:
                    raise BadOutput(f"the image is {img.width}x{img.height}, over {MAX_IMAGE_PIXELS:,} pixels",
                                    provider=provider)
                img.load()
                if img.format == "PNG":
                    return data
                buf = io.BytesIO()
                img.convert("RGBA" if "A" in img.getbands() else "RGB").save(buf, format="PNG")
                return buf.getvalue()
    except BadOutput:
        raise
    except Exception as exc:  # noqa: BLE001 — Pillow's zoo of errors (bombs included): one answer
        raise BadOutput(f"what came back is not a readable image ({type(exc).__name__})", provider=provider) from None
