"""A vision judge through any OpenAI-compatible chat-completions endpoint (issue 60): OpenRouter's
vision models, a vLLM, Ollama, llama.cpp or LM Studio server on the film-maker's own GPU.

The panel, keyframe, continuity and turnaround rubrics (providers/rubric.py) are sent as one user
message: the instructions as a text part, then each picture as an `image_url` part holding a
`data:image/png;base64,…` URL (what the chat-completions API documents for images sent inline;
nothing is uploaded anywhere). The answer is asked for as the rubric's JSON:

- where the endpoint takes `response_format: {"type": "json_schema", …}` (OpenAI's structured
  outputs; vLLM, llama.cpp and LM Studio document it too [?: which keywords each honours]), the
  schema is sent with it;
- an endpoint that refuses that field (a 400 naming it, as servers without it answer [?]) is asked
  without it from then on in this process, the schema written into the instructions instead;
- whatever came back is parsed strictly: one JSON object, alone or in one ``` fence, that
  validates against the rubric. Anything else is re-asked once, in the same conversation, naming
  what was wrong; a second bad answer is "cannot judge" (`Verdict.unjudgeable`): never a pass.
  Both asks' tokens are the call's usage, and `asks: 2` is kept in the ledger's usage column.

A refusal (`message.refusal`, or `finish_reason: content_filter`) is RefusedByModeration with the
tokens it used; a 429 is RateLimited with the server's Retry-After (the governor waits it out).
A verdict is not kept by the endpoint: a priced verdict whose answer was lost is not asked again
(`asks_again_when_lost = False`: the governor halts the shot as of unknown outcome); a $0 one is
(the governor asks a free call again by itself).

The key is optional (`key_optional`): sent as `Authorization: Bearer` when VLM_API_KEY (or a
Prefect Secret block `vlm-api-key`) is set, and a local server needs none. Model names are the
server's own (`Qwen/Qwen2.5-VL-7B-Instruct`, `qwen2.5vl:7b`): any MODEL_ID. Prices are the rate
card's: a film adds its row (`[models."vlm:MODEL"] kind = "judge"`, per million tokens, "0" for
its own machine); slate ships none, so an unpriced endpoint is refused before a call.

It must never send a picture anywhere but the endpoint, put the key in a URL or an error, or
read an answer it could not parse as a pass.
"""
from __future__ import annotations

import base64
import ipaddress
import json
import re
import threading
import time
from pathlib import Path
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from slate.providers import http, rubric
from slate.providers.base import DoctorFinding, Judge, PanelRequest, ReferenceImages, Storage, Verdict
from slate.providers.errors import (AuthenticationFailed, BadOutput, ProviderError, RefusedByModeration)
from slate.providers.keys import optional_key, redact
from slate.providers.spec import MODEL_ID, Offer, ProviderSpec, reached_at

NAME = "vlm"
#: vLLM's own default (`vllm serve` listens on port 8000 and serves the API under /v1).
BASE_URL = "http://127.0.0.1:8000/v1"
#: A model on a single local GPU may take a minute over a dozen pictures.
TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=60.0, pool=10.0)
#: The longest answer asked for: a rubric's dozen criteria with a sentence each.
MAX_TOKENS = 1500
#: The example model a film names (docs/judges.md); any other id the server lists is its own.
EXAMPLE_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"

SYSTEM = ("You judge pictures for a film's continuity supervisor. Answer with one JSON object that matches the "
          "rubric's schema exactly, and nothing else: no prose, no markdown.")
#: How a 400 says that the endpoint does not take structured outputs (words of vLLM, llama.cpp,
#: Ollama and OpenAI-style gateways vary [?]: any answer naming the field counts).
_NO_SCHEMA = re.compile(r"response_format|json_schema|structured output|guided", re.IGNORECASE)
_FENCE = re.compile(r"^```(?:json)?\s*\n?(.*?)\n?```$", re.DOTALL | re.IGNORECASE)

#: Endpoints (base URL, model) seen refusing `response_format` in this process: asked without it.
_PLAIN: set[tuple[str, str]] = set()
_PLAIN_LOCK = threading.Lock()


def is_local(base_url: str) -> bool:
    """A server on this machine or this network (loopback, private addresses, `localhost`): its
    seconds are the GPU's the film-maker owns, kept in the ledger beside a $0 price."""
    host = (urlsplit(base_url).hostname or "").strip("[]")
    if host == "localhost" or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def error_for(response: httpx.Response) -> ProviderError:
    """An error answer in the error tree: the HTTP rules every provider follows, and a refusal
    the OpenAI-style envelope says in its `code` (`content_filter`, `content_policy_violation`)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    code = str((error or {}).get("code") or (error or {}).get("type") or "") if isinstance(error, dict) else ""
    if 400 <= response.status_code < 500 and response.status_code != 429 and "content" in code and \
            ("filter" in code or "policy" in code):
        return RefusedByModeration(f"refused by moderation: {http.body_text(response)}", provider=NAME,
                                   status=response.status_code)
    return http.error_for(NAME, response)


def _client(base_url: str) -> httpx.Client:
    key = optional_key(NAME)
    headers = {"Authorization": f"Bearer {key.reveal()}"} if key is not None else {}
    return http.client(NAME, base_url, headers, timeout=TIMEOUT)


def _image_part(path: Path) -> dict[str, Any]:
    data = Path(path).read_bytes()
    kind = "jpeg" if data[:3] == b"\xff\xd8\xff" else "png"
    return {"type": "image_url",
            "image_url": {"url": f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"}}


def strict_parse(content: str, schema: type[BaseModel]) -> tuple[BaseModel | None, str]:
    """The rubric's answer from a reply's text, or None and what was wrong with it. Strict: one
    JSON object, alone or in one ``` fence — no prose before or after, no second object."""
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    if not text.startswith("{"):
        return None, "the answer is not a JSON object (it has words before or instead of one)"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"the answer is not valid JSON ({exc.msg} at character {exc.pos})"
    try:
        return schema.model_validate(value), ""
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the object"
        return None, f"the answer is not the rubric's JSON: {where}: {first['msg']} ({exc.error_count()} error(s))"


class ChatJudge:
    """Panels, keyframes, cuts and turnarounds scored by a model behind a chat-completions endpoint."""

    name = NAME
    #: a lost verdict of a priced endpoint is not asked again (tasks/gates/gate.py `ask_judge`)
    asks_again_when_lost = False

    def __init__(self, model: str, *, base_url: str):
        self.model, self.base_url = model, base_url
        self.variant: dict[str, Any] = {}

    def judge_panel(self, panel: Path, request: PanelRequest, refs: ReferenceImages, *,
                    client_ref: str | None = None) -> Verdict:
        return self._judge(rubric.panel_ask(panel, request, refs))

    def judge_keyframes(self, frames: dict[str, Path], start_panel: Path, end_panel: Path | None,
                        request: PanelRequest, refs: ReferenceImages, *, client_ref: str | None = None) -> Verdict:
        return self._judge(rubric.keyframe_ask(frames, start_panel, end_panel, request, refs))

    def judge_continuity(self, last_frame: Path, first_frame: Path, previous: PanelRequest, request: PanelRequest,
                         refs: ReferenceImages, *, client_ref: str | None = None) -> Verdict:
        return self._judge(rubric.continuity_ask(last_frame, first_frame, previous, request, refs))

    def judge_turnaround(self, sheet: Path, character_id: str, description: str, *,
                         client_ref: str | None = None) -> Verdict:
        return self._judge(rubric.turnaround_ask(sheet, character_id, description))

    # -- one verdict: asked, and asked again once when the answer is not the rubric ------------------
    def _judge(self, ask: rubric.Ask) -> Verdict:
        started = time.monotonic()
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": [{"type": "text", "text": ask.instructions},
                                         *(_image_part(p) for p in ask.images)]}]
        tokens = {"input_tokens": 0, "output_tokens": 0}
        reported = True
        why = ""
        for asks in (1, 2):
            reply = self._chat(messages, ask.schema)
            used = reply.get("usage") if isinstance(reply.get("usage"), dict) else None
            if used is None:
                reported = False
            else:
                tokens["input_tokens"] += int(used.get("prompt_tokens") or 0)
                tokens["output_tokens"] += int(used.get("completion_tokens") or 0)
            usage = self._usage(tokens, asks, started) if reported else None
            choice = (reply.get("choices") or [{}])[0]
            message = choice.get("message") or {}
            refusal = message.get("refusal")
            if refusal or choice.get("finish_reason") == "content_filter":
                raise RefusedByModeration(f"the judge refused: {redact(str(refusal or 'content_filter'))[:300]}",
                                          provider=NAME, usage=usage)
            content = message.get("content")
            if isinstance(content, list):   # some servers answer in parts, as they are asked
                content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            if not isinstance(content, str):
                raise BadOutput("the judge's answer has no message content", provider=NAME, usage=usage)
            if choice.get("finish_reason") == "length":
                parsed, why = None, f"the answer was cut off at {MAX_TOKENS} tokens"
            else:
                parsed, why = strict_parse(content, ask.schema)
            if parsed is not None:
                return rubric.verdict(parsed, NAME, usage=usage)
            messages += [{"role": "assistant", "content": content},
                         {"role": "user", "content": f"That answer cannot be used: {why}. Answer again with only "
                                                     "the JSON object the schema asks for."}]
        return Verdict(Verdict.unjudgeable(NAME, f"its answer was not the rubric's JSON twice ({why})").scores,
                       NAME, usage=usage)

    def _usage(self, tokens: dict[str, int], asks: int, started: float) -> dict[str, Any]:
        used: dict[str, Any] = {"kind": "judge", **tokens}
        if asks > 1:
            used["asks"] = asks   # kept in the ledger's usage column: the call was asked again
        if is_local(self.base_url):   # the film-maker's own GPU: the seconds it was busy with this verdict
            used["gpu_seconds"] = round(time.monotonic() - started, 3)
        return used

    def _chat(self, messages: list[dict[str, Any]], schema: type[BaseModel]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0,
                                "max_tokens": MAX_TOKENS}
        plain = (self.base_url, self.model) in _PLAIN
        if not plain:
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": schema.__name__[:64], "schema": schema.model_json_schema(), "strict": True}}
        else:
            body["messages"] = _with_schema_said(messages, schema)
        with _client(self.base_url) as client:
            try:
                answer = http.send(NAME, client, "POST", "/chat/completions", json=body, translate=error_for)
            except ProviderError as exc:
                if plain or getattr(exc, "status", None) != 400 or not _NO_SCHEMA.search(str(exc)):
                    raise
                with _PLAIN_LOCK:   # a 400 ran nothing: asked once more, without the field
                    _PLAIN.add((self.base_url, self.model))
                body.pop("response_format")
                body["messages"] = _with_schema_said(messages, schema)
                answer = http.send(NAME, client, "POST", "/chat/completions", json=body, translate=error_for)
        try:
            reply = answer.json()
        except ValueError:
            raise BadOutput("the endpoint's answer is not JSON", provider=NAME) from None
        if not isinstance(reply, dict):
            raise BadOutput("the endpoint's answer is not a chat completion", provider=NAME)
        return reply


def _with_schema_said(messages: list[dict[str, Any]], schema: type[BaseModel]) -> list[dict[str, Any]]:
    """The conversation with the schema written into the system message (an endpoint without
    structured outputs is told the shape in words)."""
    said = f"{SYSTEM}\nThe JSON schema:\n{json.dumps(schema.model_json_schema(), separators=(',', ':'))}"
    return [{"role": "system", "content": said}, *messages[1:]]


def judge(model: str, *, storage: Storage | None = None, base_url: str | None,
          settings: BaseModel | None = None) -> Judge:
    return ChatJudge(model, base_url=reached_at(NAME, base_url))


def _served(url: str) -> dict[str, dict[str, Any]]:
    """The models the endpoint lists (GET /models), by id: free. Raises the error tree's errors, or
    ValueError when the answer is not a model list."""
    with _client(url) as client:
        listed = http.send(NAME, client, "GET", "/models", translate=error_for).json()
    rows = listed.get("data") if isinstance(listed, dict) else None
    if not isinstance(rows, list):
        raise ValueError(f"{http.where(url)}/models is not a model list")
    return {str(m.get("id")): m for m in rows if isinstance(m, dict) and m.get("id")}


def doctor(*, base_url: str | None) -> list[DoctorFinding]:
    """Reachable, and the models it serves (GET /models): free. Whether a model takes images is
    said where the listing says (OpenRouter's `architecture.input_modalities`); most servers' lists
    do not [?], and slate does not pay a call to find out."""
    url = reached_at(NAME, base_url)
    key = optional_key(NAME)
    found = [DoctorFinding(NAME, "key", True, f"key {key.id} from {key.source}" if key is not None else
                           "no key set (VLM_API_KEY): none is sent, as a server on your own machine needs none",
                           blocking=False)]
    try:
        served = _served(url)
    except AuthenticationFailed as exc:
        return found + [DoctorFinding(NAME, "key valid", False, f"{exc} (set VLM_API_KEY)")]
    except (ProviderError, ValueError) as exc:
        return found + [DoctorFinding(NAME, "reachable", False, f"{http.where(url)} did not list its models: {exc}")]
    found.append(DoctorFinding(NAME, "reachable", True, f"{http.where(url)} serves {len(served)} model(s)",
                               blocking=False))
    return found


def film_doctor(*, base_url: str | None, storage: Storage,
                models: Mapping[str, tuple[str, ...]]) -> list[DoctorFinding]:
    """Each judge model the run uses, against the endpoint's list: listed, and taking images where
    the list says (OpenRouter's `architecture.input_modalities`; a local server's list says
    nothing of it [?], and slate pays no call to find out). Free."""
    import difflib
    url = reached_at(NAME, base_url)
    try:
        served = _served(url)
    except (ProviderError, ValueError):
        return []   # said by `doctor` above
    found = []
    if models.get("judge") and not is_local(url):
        found.append(DoctorFinding(NAME, "prices", True, f"{http.where(url)} is not on this machine: price each "
                                   f"judge model as that endpoint bills it in the film's rates.toml (slate's own "
                                   f"$0 row is for a server on your own GPU)", blocking=False))
    lowered = {m.lower(): m for m in served}
    for model in models.get("judge", ()):
        entry = served.get(model)
        if entry is None:
            close = [lowered[m] for m in difflib.get_close_matches(model.lower(), list(lowered), n=5, cutoff=0.5)]
            found.append(DoctorFinding(NAME, "models", False, f"judge model {model!r} is not among the models "
                                       f"{http.where(url)} serves (the nearest: "
                                       f"{', '.join(close or sorted(served)[:5]) or 'none'}): name one it lists"))
            continue
        images = (entry.get("architecture") or {}).get("input_modalities")
        if isinstance(images, list) and "image" not in images:
            found.append(DoctorFinding(NAME, "models", False, f"judge model {model!r} takes {', '.join(images)}, "
                                       f"not images: a judge is shown pictures; name a vision model"))
        else:
            found.append(DoctorFinding(NAME, "models", True, f"judge model {model!r} is served"
                                       + ("" if isinstance(images, list) else
                                          " (whether it takes images, the list does not say)"), blocking=False))
    return found


PROVIDER = ProviderSpec(
    name=NAME,
    offers={"judge": Offer((EXAMPLE_MODEL,), own="*", names=MODEL_ID)},
    base_url=BASE_URL,
    key_vars=("VLM_API_KEY",),
    key_optional=True,
    judge=judge, doctor=doctor, film_doctor=film_doctor,
    translate_error=error_for,
)
