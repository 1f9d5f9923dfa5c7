"""A fake OpenAI-compatible chat-completions endpoint (a vLLM, Ollama or gateway), under /vlm/v1.

    POST /chat/completions   {"model", "messages": [system, user: [text, image_url(data:…)…], …],
                              "response_format": {"type": "json_schema", "json_schema": {name, schema, strict}}?}
                             → {"id", "object": "chat.completion", "model", "choices": [{"index": 0,
                                "message": {"role": "assistant", "content", "refusal"}, "finish_reason"}],
                                "usage": {"prompt_tokens", "completion_tokens", "total_tokens"}}
    GET  /models             {"object": "list", "data": [{"id", "object": "model", "architecture"?}]}

The verdict is the schema's: every property of the rubric asked (from `response_format`, or —
for an endpoint without structured outputs — from the schema written in the system message) gets
{"score": 0.93, "reason": …}. A request the fake cannot read (no model, an image part that is not
a data: URL of a picture, a malformed response_format) is a 400 in the error envelope
{"error": {"message", "type", "code"}}. No key is needed; a key sent must be a fake one.

How the endpoint behaves (POST /_fake/keys {"vlm": {...}}): `schema: false` answers any request
carrying `response_format` with a 400 naming it (a server without structured outputs); `models`:
the ids /models lists (default: the example's), `modalities`: id -> input modalities listed;
`usage: false` leaves `usage` out of answers; `answers`: sha256 of the first picture -> "fail" or
"pass", a judge with an answer key (a judge trial's panels are known: the test says which the
fake fails, so it can stand for a judge that misses one kind of fault), every score 0.2 for "fail".

Faults (op "chat", `model` to aim at one model, `contains` at a request whose text holds it):
    status        reply fault.status with fault.body and fault.headers (429 + Retry-After…)
    malformed     the content is prose, not JSON ("Sure! The panel looks right.")
    missing       valid JSON without the rubric's first criterion
    fenced        the right JSON inside a ```json fence (a plain-text endpoint's habit)
    refusal       message.refusal set, content null (how OpenAI words a refusal)
    judge_fail    every score fault.data["score"] (0.2), or only the criteria in fault.data["low"]
    drop_after    the completion is made (billed), then the connection is closed: the answer is lost
Test code only.
"""
from __future__ import annotations

import base64
import hashlib
import json

from tests.fakes.control import PREFIX
from tests.fakes.core import Drop, Reply, Request, Router, State, decode_image, fault_reply

P = PREFIX["vlm"]
PROVIDER = "vlm"
MODELS = ("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5vl:7b")
IMAGE_TOKENS = 256
SCHEMA_SAID = "The JSON schema:\n"


def _error(status: int, message: str, code: str = "invalid_request_error") -> Reply:
    return Reply(status, {"error": {"message": message, "type": code, "code": status}})


def _config(st: State) -> dict:
    with st.lock:
        return dict(st.keys.get(PROVIDER, {}))


def _key_refused(req: Request) -> Reply | None:
    sent = req.headers.get("authorization")
    if sent is not None and not sent.startswith("Bearer sk-vlm-fake"):
        return _error(401, "Incorrect API key provided", "authentication_error")
    return None


def _schema_of(body: dict) -> dict | None:
    fmt = body.get("response_format")
    if fmt is not None:
        return ((fmt.get("json_schema") or {}).get("schema")) if isinstance(fmt, dict) else None
    for message in body.get("messages", []):
        if message.get("role") == "system" and SCHEMA_SAID in str(message.get("content")):
            return json.loads(str(message["content"]).split(SCHEMA_SAID, 1)[1])
    return None


def _first_picture(body: dict) -> bytes | None:
    for message in body.get("messages", []):
        for part in message.get("content") if isinstance(message.get("content"), list) else []:
            if part.get("type") == "image_url":
                return base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
    return None


def _problems(body: dict) -> tuple[list[str], str, int]:
    """What the fake cannot read in a request; the user's text; the pictures it holds."""
    problems, text, images = [], "", 0
    if not isinstance(body.get("model"), str) or not body["model"]:
        problems.append("model is required")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return problems + ["messages must be a non-empty list"], text, images
    for message in messages:
        content = message.get("content")
        if message.get("role") not in ("system", "user", "assistant"):
            problems.append(f"unknown role {message.get('role')!r}")
        if isinstance(content, list):
            for part in content:
                if part.get("type") == "text":
                    text += str(part.get("text", ""))
                elif part.get("type") == "image_url":
                    url = (part.get("image_url") or {}).get("url", "")
                    if not url.startswith("data:image/"):
                        problems.append("image_url.url must be a data:image/… URL here")
                        continue
                    try:
                        decode_image(url)
                        images += 1
                    except Exception:  # noqa: BLE001
                        problems.append("an image_url is not a picture")
                else:
                    problems.append(f"unknown content part type {part.get('type')!r}")
        elif isinstance(content, str) and message.get("role") == "user":
            text += content
    fmt = body.get("response_format")
    if fmt is not None and not (isinstance(fmt, dict) and fmt.get("type") == "json_schema"
                                and isinstance((fmt.get("json_schema") or {}).get("schema"), dict)
                                and (fmt.get("json_schema") or {}).get("name")):
        problems.append("response_format must be {type: json_schema, json_schema: {name, schema}}")
    return problems, text, images


def _verdict(schema: dict, fault) -> dict:
    kind = fault.kind if fault else None
    low = set(fault.data.get("low", [])) if kind == "judge_fail" else set()
    answer = {}
    for key in schema.get("properties", {}):
        failing = kind == "judge_fail" and (not low or key in low)
        score = fault.data.get("score", 0.2) if failing else 0.93
        answer[key] = {"score": score, "reason": "fake: not as the references" if failing else
                       "fake: as the references"}
    if kind == "missing" and answer:
        answer.pop(next(iter(answer)))
    return answer


def chat(st: State, req: Request) -> Reply:
    refused = _key_refused(req)
    if refused:
        return refused
    try:
        body = req.json or {}
    except ValueError:
        return _error(400, "the body is not JSON")
    problems, text, images = _problems(body)
    if problems:
        return _error(400, "; ".join(problems))
    config = _config(st)
    if body.get("response_format") is not None and config.get("schema") is False:
        return _error(400, "response_format json_schema is not supported by this server")
    model = body["model"]
    fault = st.take(PROVIDER, "chat", model, text=text)
    if fault is not None and fault.kind == "status":
        return fault_reply(fault)
    record = st.create(PROVIDER, "chat", model, body)
    if fault is not None and fault.kind == "drop_after":
        raise Drop()
    schema = _schema_of(body) or {}
    answers = config.get("answers") or {}
    picture = _first_picture(body)
    if fault is None and picture is not None and answers.get(hashlib.sha256(picture).hexdigest()) == "fail":
        from tests.fakes.core import Fault
        fault = Fault(PROVIDER, "chat", "judge_fail")   # the answer key says this one is off-model
    kind = fault.kind if fault else None
    refusal = None
    if kind == "refusal":
        content, refusal = None, "I can't help with judging these pictures."
    elif kind == "malformed":
        content = "Sure! The panel looks right to me: the faces, the clothes and the place all match."
    else:
        content = json.dumps(_verdict(schema, fault))
        if kind == "fenced":
            content = f"```json\n{content}\n```"
    reply = {"id": f"chatcmpl-{record['id']}", "object": "chat.completion", "model": model,
             "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": refusal},
                          "finish_reason": "stop"}]}
    if config.get("usage", True):
        prompt = IMAGE_TOKENS * images + len(text) // 4
        completion = len(content or refusal or "") // 4
        reply["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion}
    return Reply(200, reply)


def models(st: State, req: Request) -> Reply:
    refused = _key_refused(req)
    if refused:
        return refused
    config = _config(st)
    modalities = config.get("modalities", {})
    rows = []
    for model in config.get("models", MODELS):
        row = {"id": model, "object": "model", "owned_by": "fake"}
        if model in modalities:
            row["architecture"] = {"input_modalities": modalities[model]}
        rows.append(row)
    return Reply(200, {"object": "list", "data": rows})


def register(router: Router) -> None:
    router.add("POST", P + r"/chat/completions", chat)
    router.add("GET", P + r"/models", models)
