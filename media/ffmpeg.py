"""The one door to the ffmpeg binary: find it, run it, turn failures into MediaError.

For: locating the ffmpeg executable shipped in the imageio-ffmpeg wheel and running it.
Never: build argument lists (that is commands.py), use a shell, let ffmpeg read a terminal, or
import anything of ours. This module is the ONLY place in media/ that starts a process.
"""

from __future__ import annotations

import os
import subprocess
from functools import lru_cache

import imageio_ffmpeg

# How much of a failing command / its stderr to show in str(MediaError): enough to
# diagnose, short enough for a log line.
_CMD_ITEMS_SHOWN = 12
_STDERR_TAIL_CHARS = 1500


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg (the wheel has no ffprobe; we never rely on a system one)."""
    return imageio_ffmpeg.get_ffmpeg_exe()


class MediaError(Exception):
    """An ffmpeg run failed. Keeps the full command and stderr for diagnosis."""

    def __init__(self, message: str, cmd: list[str], stderr: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.cmd = list(cmd)
        self.stderr = stderr or ""

    def __str__(self) -> str:
        shown = " ".join(self.cmd[:_CMD_ITEMS_SHOWN])
        if len(self.cmd) > _CMD_ITEMS_SHOWN:
            shown += " ..."
        tail = self.stderr.strip()[-_STDERR_TAIL_CHARS:]
        text = f"{self.message}: {shown}"
        if tail:
            text += f"\n--- ffmpeg stderr (tail) ---\n{tail}"
        return text


def run(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ffmpeg with `args` (no exe at index 0); raise MediaError on non-zero exit or timeout.

    stdout/stderr are captured as text (undecodable bytes replaced) because callers
    parse stderr; stdin is closed so ffmpeg can never block waiting for a key press.
    """
    cmd = [ffmpeg_exe(), *(os.fspath(a) for a in args)]
    try:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr
        if isinstance(err, bytes):
            err = err.decode("utf-8", "replace")
        raise MediaError(f"ffmpeg timed out after {timeout:g}s", cmd, err or "") from exc
    except OSError as exc:  # missing / non-executable binary
        raise MediaError(f"could not start ffmpeg ({exc})", cmd, "") from exc
    if proc.returncode != 0:
        raise MediaError(f"ffmpeg exited with code {proc.returncode}", cmd, proc.stderr)
    return proc


def pipe(args: list[str], data: bytes | None = None, timeout: float = 300) -> bytes:
    """Run ffmpeg with `args`, raw bytes in (`data` on stdin, or none) and out (its stdout):
    frames through pipes, no file between. MediaError as run()."""
    cmd = [ffmpeg_exe(), *(os.fspath(a) for a in args)]
    try:
        proc = subprocess.run(cmd, input=data if data is not None else b"", capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        raise MediaError(f"ffmpeg timed out after {timeout:g}s", cmd, err) from exc
    except OSError as exc:
        raise MediaError(f"could not start ffmpeg ({exc})", cmd, "") from exc
    if proc.returncode != 0:
        raise MediaError(f"ffmpeg exited with code {proc.returncode}", cmd, proc.stderr.decode("utf-8", "replace"))
    return proc.stdout
