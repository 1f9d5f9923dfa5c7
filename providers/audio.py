"""Speech as a provider hands it back, made into what slate keeps: a 16-bit PCM mono WAV.

Vendors answer a line in their own shape — Gemini as base64 raw PCM (`audio/L16;codec=pcm;
rate=24000`), ElevenLabs as raw PCM bytes of the `output_format` asked (`pcm_24000`), the local
voice as samples — and every one of them becomes the same file: RIFF/WAVE, 16-bit, one channel,
at the rate it came at. `pcm16_wav` wraps raw samples; `wav_seconds` holds a WAV to that shape and
measures it; `spoken_line` does both and says what was billed.

A line that is empty, not 16-bit mono, or absurdly long for its text is refused here as a
BadOutput (it ran, it is billed, it is unusable), never handed to the voice gate.

It must never reach the network, read a key, or resample: the rate a line came at is kept.
"""
from __future__ import annotations

import io
import wave
from slate.providers.base import SpokenLine
from slate.providers.errors import BadOutput

#: The longest line slate keeps: ten minutes, past any line of a shot (and any vendor's request
#: limit); a longer answer is a model that ran on, refused before anything stores it.
MAX_SPEECH_SECONDS = 600.0
#: Sample rates a voice may answer at (speech models give 8–48 kHz).
RATES = (8000, 48000)


def pcm16_wav(pcm: bytes, rate: int, channels: int = 1) -> bytes:
    """Raw signed 16-bit little-endian samples as a WAV file."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buf.getvalue()


def decoded_pcm16(data: bytes, rate: int) -> bytes:
    """Any audio file ffmpeg reads (MP3, WAV, …) as raw signed 16-bit mono PCM at `rate`;
    ValueError saying why when it is no audio."""
    from slate.media.ffmpeg import MediaError, pipe
    if not data:
        raise ValueError("no bytes")
    try:
        pcm = pipe(["-v", "error", "-i", "pipe:0", "-vn", "-ac", "1", "-ar", str(rate), "-f", "s16le", "pipe:1"],
                   data, timeout=120)
    except MediaError as exc:
        raise ValueError(exc.cause or exc.message) from None
    if not pcm:
        raise ValueError("it holds no audio")
    return pcm


def wav_seconds(provider: str, data: bytes, what: str = "the spoken line") -> float:
    """The length of a 16-bit mono WAV, or BadOutput saying what `what` is instead."""
    try:
        with wave.open(io.BytesIO(data), "rb") as src:
            channels, width, rate, frames = src.getnchannels(), src.getsampwidth(), src.getframerate(), src.getnframes()
    except (wave.Error, EOFError) as exc:
        raise BadOutput(f"{what} is not a WAV file ({exc})", provider=provider) from None
    if width != 2 or channels != 1:
        raise BadOutput(f"{what} is {channels} channel(s) of {8 * width} bits, not 16-bit mono",
                        provider=provider)
    if not RATES[0] <= rate <= RATES[1]:
        raise BadOutput(f"{what} is at {rate} Hz, outside {RATES[0]}-{RATES[1]} Hz", provider=provider)
    if frames == 0:
        raise BadOutput(f"{what} has no samples", provider=provider)
    seconds = frames / rate
    if seconds > MAX_SPEECH_SECONDS:
        raise BadOutput(f"{what} runs {seconds:.0f} s, past the longest slate keeps "
                        f"({MAX_SPEECH_SECONDS:.0f} s)", provider=provider)
    return seconds


def spoken_line(provider: str, wav: bytes, characters: int, tokens: dict[str, int] | None = None) -> SpokenLine:
    """A checked WAV as what a voice gives back: its measured seconds, the characters it was sent,
    and so what it used as the rate card prices it (`tokens`: the input and output tokens a
    token-billed model reports, `input_tokens` and `output_tokens`)."""
    seconds = wav_seconds(provider, wav)
    return SpokenLine(wav, seconds, characters, {"kind": "speech", "characters": characters, "seconds": seconds,
                                                 **(tokens or {})})
