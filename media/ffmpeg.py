"""The one door to the ffmpeg binary: find it, run it, turn failures into MediaError.

For: locating the ffmpeg executable shipped in the imageio-ffmpeg wheel and running it.
Never: build argument lists (that is commands.py), use a shell, let ffmpeg read a terminal, or
import anything of ours but the error root (slate.errors). This module is the ONLY place in media/ that starts a process.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import lru_cache

import imageio_ffmpeg

from slate.errors import SlateError

# How much of a failing command / its stderr `detail()` shows: enough to diagnose, short enough
# for a log line. str(MediaError) shows neither: a person reads the cause (`cause_line`).
_CMD_ITEMS_SHOWN = 12
_STDERR_TAIL_CHARS = 1500

# The lines of ffmpeg's stderr that say what went wrong ("moov atom not found", "Invalid data
# found when processing input"), as against its banner, stream listing and progress lines.
_CAUSE_WORDS = re.compile(r"error|invalid|not found|no such|could not|cannot|can't|failed|unable|unknown|"
                          r"corrupt|truncated|missing|does not|not supported|unsupported|incomplete|denied|"
                          r"no space|too large|too many", re.IGNORECASE)
_NOT_A_CAUSE = re.compile(r"misdetection possible|^(?:frame|size)=|^\s*(?:Stream|Input|Output|Duration|Metadata)\b")
_LOG_PREFIX = re.compile(r"^(?:\[[^\]]*@ 0x[0-9a-f]+\]\s*)+")


def cause_line(stderr: str) -> str:
    """The first line of ffmpeg's stderr that says what went wrong (its `[in#0 @ 0x…]` prefix cut,
    at most 200 characters); else its last line; "" when it printed nothing."""
    lines = [_LOG_PREFIX.sub("", line).strip() for line in (stderr or "").splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        if _CAUSE_WORDS.search(line) and not _NOT_A_CAUSE.search(line):
            return line[:200]
    return lines[-1][:200] if lines else ""


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg (the wheel has no ffprobe; we never rely on a system one)."""
    return imageio_ffmpeg.get_ffmpeg_exe()


class MediaError(SlateError):
    """An ffmpeg run failed. Said as its cause (`message: the cause line of ffmpeg's stderr`);
    the full command and stderr are kept (`cmd`, `stderr`, `detail()`) for diagnosis, never
    printed as the reason: a command line cut mid-path tells a film-maker nothing."""

    def __init__(self, message: str, cmd: list[str], stderr: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.cmd = list(cmd)
        self.stderr = stderr or ""

    @property
    def cause(self) -> str:
        """The cause line of ffmpeg's stderr ("" when it printed nothing)."""
        return cause_line(self.stderr)

    def __str__(self) -> str:
        cause = self.cause
        return f"{self.message}: {cause}" if cause else self.message

    def detail(self) -> str:
        """The message, the command (its first items) and the tail of ffmpeg's stderr: for a log."""
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
