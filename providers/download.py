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
from slate.providers.errors import BadOutput, ProviderTimeout, TransientServerError
from slate.providers.http import error_for, is_loopback, where

MAX_VIDEO_BYTES = 512 * 1024 * 1024
MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
DOWNLOAD_SECONDS = 300.0
IMAGE_FORMATS = ["PNG", "JPEG", "WEBP"]


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


def fetch(provider: str, url: str, dest: Path, *, allowed_hosts: tuple[str, ...], max_bytes: int,
          auth_headers: dict[str, str] | None = None, auth_host: str | None = None,
          seconds: float = DOWNLOAD_SECONDS, transport: httpx.BaseTransport | None = None) -> Path:
    """Download `url` to `dest` within the rules of the module docstring."""
    deadline = time.monotonic() + seconds
    with httpx.Client(follow_redirects=False, timeout=httpx.Timeout(30.0), transport=transport) as http:
        for _ in range(6):
            host, _port = check_url(provider, url, allowed_hosts)
            headers = auth_headers if auth_headers and host == auth_host else {}
            try:
                with http.stream("GET", url, headers=headers) as response:
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
                        raise BadOutput(f"the output is {declared:,} bytes, over the {max_bytes:,} limit",
                                        provider=provider)
                    written = 0
                    with open(dest, "wb") as out:
                        for chunk in response.iter_bytes(1 << 16):
                            written += len(chunk)
                            if written > max_bytes:
                                raise BadOutput(f"the output passed the {max_bytes:,} byte limit", provider=provider)
                            if time.monotonic() > deadline:
                                raise ProviderTimeout(f"downloading {where(url)} took over {seconds:.0f} s",
                                                      provider=provider)
                            out.write(chunk)
                        out.flush()
                        os.fsync(out.fileno())
                    return dest
            except httpx.TimeoutException:
                raise ProviderTimeout(f"downloading {where(url)} timed out", provider=provider) from None
            except httpx.TransportError as exc:
                raise TransientServerError(f"downloading {where(url)} failed ({type(exc).__name__})",
                                           provider=provider) from None
        raise BadOutput(f"too many redirects from {where(url)}", provider=provider)


def checked_video(provider: str, path: Path, *, seconds: float) -> Path:
    """The file is a video ffmpeg decodes, with frames, no shorter than asked."""
    try:
        p = probe(path)
    except (MediaError, OSError, ValueError) as exc:
        raise BadOutput(f"what came back is not a video ffmpeg can read ({str(exc)[:200]})", provider=provider) from None
    if not p.frames or not p.duration:
        raise BadOutput("what came back has no frames", provider=provider)
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
