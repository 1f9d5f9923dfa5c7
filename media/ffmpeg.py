"""The one door to the ffmpeg binary: find it, run it, turn failures into MediaError.

For: locating the ffmpeg executable shipped in the imageio-ffmpeg wheel and running it.
Never: build argument lists (that is commands.py), use a shell, let ffmpeg read a terminal, or
import anything of ours but the error root (slate.errors). This module is the ONLY place in media/ that starts a process.
"""

from __future__ import annotations

import os
import subprocess
from functools import lru_cache

import imageio_ffmpeg

from slate.errors import SlateError

# How much of a failing command / its stderr to show in str(MediaError): enough to
# diagnose, short enough for a log line.
_CMD_ITEMS_SHOWN = 12
_STDERR_TAIL_CHARS = 1500


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg (the wheel has no ffprobe; we never rely on a system one)."""
    return imageio_ffmpeg.get_ffmpeg_exe()


class MediaError(SlateError):
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
        err = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        raise MediaError(f"ffmpeg timed out after {timeout:g}s", cmd, err) from exc
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


def run_with_progress(args: list[str], on_progress, timeout: float = 1800) -> subprocess.CompletedProcess:
    """run(), for a long pass: ffmpeg writes its `-progress` key=value blocks to stdout and
    `on_progress(seconds_done)` is called at each block (about twice a second), so the CLI and the
    Prefect run can say how far a pass is. stderr is kept whole for errors and parsing, as run();
    the returned stdout is the last block (`frame=` is the count of frames written)."""
    import threading
    import time

    cmd = [ffmpeg_exe(), "-progress", "pipe:1", "-nostats", *(os.fspath(a) for a in args)]
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, errors="replace")
    except OSError as exc:
        raise MediaError(f"could not start ffmpeg ({exc})", cmd, "") from exc
    out, errors = proc.stdout, proc.stderr
    assert out is not None and errors is not None   # both asked for as pipes above
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.append(errors.read()), daemon=True)
    reader.start()   # stderr drained beside stdout: a full pipe would stall ffmpeg
    deadline = time.monotonic() + timeout
    last: dict[str, str] = {}   # the last progress block's values (frame=, out_time_us=, …)
    for line in out:
        key, _, value = line.strip().partition("=")
        last[key] = value
        if key == "out_time_us" and value.isdigit():
            on_progress(int(value) / 1e6)
        if time.monotonic() > deadline:
            proc.kill()
            break
    try:
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reader.join(timeout=10)
    stderr = "".join(err)
    if time.monotonic() > deadline:
        raise MediaError(f"ffmpeg timed out after {timeout:g}s", cmd, stderr)
    if proc.returncode != 0:
        raise MediaError(f"ffmpeg exited with code {proc.returncode}", cmd, stderr)
    # stdout: the last progress block, so a caller reads what was written (e.g. `frame=N`)
    return subprocess.CompletedProcess(cmd, proc.returncode, "".join(f"{k}={v}\n" for k, v in last.items()), stderr)
