"""ComfyUI's server API, as slate uses it: one short-lived client per call, and what its answers mean.

The routes (ComfyUI's server.py [V: read in its source]; each is also served under /api/…):

    POST /upload/image   multipart: image (the file), type "input", overwrite "true"
                         → {"name", "subfolder", "type"}: what a LoadImage's `image` names
    POST /prompt         {"prompt": graph, "client_id", "prompt_id", "extra_data"}
                         → {"prompt_id", "number", "node_errors"}; a workflow it cannot run is a
                         400 {"error": {"type", "message", "details"}, "node_errors": {node: {"errors":
                         [{"message", "details"}], "class_type"}}} — a node type it lacks reads
                         "Cannot execute because node X does not exist." [S: servers' copies; the 400 [V]]
    GET  /queue          {"queue_running": [...], "queue_pending": [...]}, each item
                         [number, prompt_id, prompt, extra_data, outputs_to_execute] [V]
    GET  /history/{id}   {id: {"prompt": that item, "outputs": {node: {"images": [{"filename",
                         "subfolder", "type"}], …}}, "status": {"status_str": "success"|"error",
                         "completed", "messages": [[event, data], …]}}}, {} when it has none [V]
    GET  /history?max_items=N   the last N of them [V]
    GET  /view?filename=&subfolder=&type=   a file it made [V]
    POST /queue          {"delete": [id]}: take a prompt out of the queue before it runs [V]
    POST /interrupt      {"prompt_id": id}: stop that prompt if it is the one running; a server
                         older than that body stops whatever runs [S: newer server.py copies]
    GET  /object_info/{class}   a node type's inputs ({} when the server has no such type) [V]
    GET  /system_stats   {"system": {"comfyui_version", …}, "devices": [{"name", "vram_total",
                         "vram_free", …}]} [V]

`prompt_id` in the body is taken as the prompt's id by newer servers (`json_data.get("prompt_id",
uuid4())` [S: server.py copies]); an older one makes its own. Either way the id in the answer is
the one slate records. `extra_data` is kept with the prompt in the queue and in its history [V], so
slate's own note of a prompt (its call id, what was asked) is found again after a crash.

The status messages carry `timestamp` (ms since the epoch) on servers that stamp them
(PromptExecutor.add_message [S: copies of execution.py]): from `execution_start` to
`execution_success`, `execution_error` or `execution_interrupted` is the time the prompt held the
GPU (ComfyUI runs one prompt at a time [?]). `execution_error` has node_id, node_type,
exception_type and exception_message; running out of GPU memory is a torch OutOfMemoryError
("… out of memory …") [S]. Progress also comes over the websocket (/ws?clientId=: executing,
progress, executed, execution_error, execution_success [D]); slate polls instead: a job of minutes
polled every few seconds is followed as closely, with nothing held open.

No key: a film's own server. The base URL is a setting (`comfyui_base_url`); under the test
suite it must be this machine (providers/http.py). It must never send anything but what a call
needs, follow a URL the server names (files are fetched by /view from the base URL it was given),
or read a file past its byte limit.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from slate.providers import http
from slate.providers.base import JobStatus
from slate.providers.errors import BadOutput, BadRequest, CutShort, ProviderError, TransientServerError
from slate.providers.keys import redact

log = logging.getLogger("slate.comfyui")

NAME = "comfyui"
#: Words of a failed node that mean the GPU ran out of memory (torch's OutOfMemoryError) [S].
OUT_OF_MEMORY = re.compile(r"out ?of ?memory|OutOfMemoryError|allocation on device", re.IGNORECASE)
PROMPT_ID = re.compile(r"[A-Za-z0-9-]{1,64}")   # an id goes into a URL path: nothing else is let through
ENDS = ("execution_success", "execution_error", "execution_interrupted")
#: The lists of files an output node's history entry may hold: SaveImage's "images" [V]; a
#: video's under "images" with "animated" (SaveVideo) or "gifs" (VideoHelperSuite) [?].
OUTPUT_LISTS = ("images", "videos", "gifs", "video")


def translate_error(response: httpx.Response) -> ProviderError:
    """An error answer of ComfyUI as the error tree: a 400 to /prompt is a workflow it will not run
    (nothing was queued: BadRequest), said with its own words — the missing node type, each
    node's errors; anything else as any HTTP API's (providers/http.py)."""
    if response.status_code != 400:
        return http.error_for(NAME, response)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return http.error_for(NAME, response)
    return BadRequest(f"ComfyUI will not run the workflow: {refusal(body)}", provider=NAME, status=400)


def refusal(body: dict[str, Any]) -> str:
    """ComfyUI's words for a refused prompt: its error, then each node's errors, by node."""
    said: list[str] = []
    error = body.get("error")
    if isinstance(error, dict):
        said.append(" ".join(str(error.get(k) or "") for k in ("message", "details")).strip())
    elif error:
        said.append(str(error))
    nodes = body.get("node_errors")
    if isinstance(nodes, dict):
        for node, found in list(nodes.items())[:8]:
            if not isinstance(found, dict):
                continue
            errors = [f"{e.get('message', '')}: {e.get('details', '')}".strip(": ")
                      for e in found.get("errors") or [] if isinstance(e, dict)]
            said.append(f"node {node} ({found.get('class_type', '?')}): {'; '.join(errors) or 'invalid'}")
    return redact("; ".join(s for s in said if s)[:1500] or "no reason given")


class Server:
    """One ComfyUI server, for one call: `with Server(url) as api: …`."""

    def __init__(self, base_url: str):
        self.http = http.client(NAME, base_url, {})

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def _json(self, method: str, url: str, **kw: Any) -> Any:
        response = http.send(NAME, self.http, method, url, translate=translate_error, **kw)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise TransientServerError(f"{url}: the answer was not JSON", provider=NAME,
                                       status=response.status_code) from None

    def upload_image(self, data: bytes, name: str) -> str:
        """Put a picture in the server's input folder; the name a LoadImage reads it by."""
        answer = self._json("POST", "/upload/image", files={"image": (name, data, "image/png")},
                            data={"type": "input", "overwrite": "true"})
        if not isinstance(answer, dict) or not isinstance(answer.get("name"), str):
            raise TransientServerError("the upload was taken without a file name", provider=NAME)
        sub = answer.get("subfolder") or ""
        return f"{sub}/{answer['name']}" if sub else str(answer["name"])

    def queue_prompt(self, graph: dict[str, Any], *, prompt_id: str, client_id: str,
                     extra: dict[str, Any], output: str | None = None) -> str:
        """Queue a workflow; the id of the prompt the server made (the job id). A 200 may still hold
        `node_errors`: the real server runs the outputs whose branches passed validation and not the
        others. One touching `output` (the node slate reads its file from) means the job can never
        make what it is paid for: the prompt is taken out of the queue (interrupted, if it already
        runs) and refused as a BadRequest in ComfyUI's words — before anything is billed, and never
        queued again unchanged. Errors on another branch are logged and the job runs."""
        answer = self._json("POST", "/prompt", json={"prompt": graph, "client_id": client_id,
                                                      "prompt_id": prompt_id, "extra_data": extra})
        made = str(answer.get("prompt_id") or "") if isinstance(answer, dict) else ""
        if not PROMPT_ID.fullmatch(made):
            # Taken, but we cannot tell which prompt it made: whether it runs is unknown.
            raise TransientServerError("the prompt was queued without a usable id", provider=NAME)
        nodes = answer.get("node_errors") if isinstance(answer, dict) else None
        if isinstance(nodes, dict) and nodes:
            touched = output is None or any(
                str(node) == output or output in [str(o) for o in (found.get("dependent_outputs") or [])]
                for node, found in nodes.items() if isinstance(found, dict))
            said = refusal({"node_errors": nodes})
            if touched:
                self._withdraw(made)
                raise BadRequest(f"ComfyUI will not make the workflow's output node {output}: {said}",
                                 provider=NAME, status=200)
            log.warning("comfyui: prompt %s runs, but another output of its workflow failed validation: %s",
                        made, said)
        return made

    def _withdraw(self, prompt_id: str) -> None:
        """Take a just-queued prompt out of the queue, or interrupt it if it started; best effort."""
        try:
            running, _ = self.queue()
            if any(len(i) > 1 and str(i[1]) == prompt_id for i in running):
                self.interrupt(prompt_id)
            else:
                self.delete(prompt_id)
        except ProviderError as exc:   # it makes nothing slate reads, and slate bills nothing for it
            log.warning("comfyui: prompt %s could not be taken out of the queue: %s", prompt_id, exc)

    def queue(self) -> tuple[list[Any], list[Any]]:
        """The prompts running and waiting (each [number, prompt_id, prompt, extra_data, outputs])."""
        answer = self._json("GET", "/queue")
        if not isinstance(answer, dict):
            raise TransientServerError("the queue was not a JSON object", provider=NAME)
        return list(answer.get("queue_running") or []), list(answer.get("queue_pending") or [])

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        """A finished prompt's entry, None when the server has none for it."""
        answer = self._json("GET", f"/history/{safe_id(prompt_id)}")
        entry = answer.get(prompt_id) if isinstance(answer, dict) else None
        return entry if isinstance(entry, dict) else None

    def recent(self, most: int = 500) -> dict[str, Any]:
        """The last `most` finished prompts, by id."""
        answer = self._json("GET", "/history", params={"max_items": str(most)})
        return answer if isinstance(answer, dict) else {}

    def delete(self, prompt_id: str) -> None:
        self._json("POST", "/queue", json={"delete": [safe_id(prompt_id)]})

    def interrupt(self, prompt_id: str) -> None:
        self._json("POST", "/interrupt", json={"prompt_id": safe_id(prompt_id)})

    def node_type(self, class_type: str) -> dict[str, Any] | None:
        """What the server says of a node type, None when it has no such type."""
        answer = self._json("GET", f"/object_info/{quote(class_type, safe='')}")
        found = answer.get(class_type) if isinstance(answer, dict) else None
        return found if isinstance(found, dict) else None

    def system_stats(self) -> dict[str, Any]:
        answer = self._json("GET", "/system_stats")
        return answer if isinstance(answer, dict) else {}

    def view(self, item: dict[str, Any], dest: Path, max_bytes: int, what: str) -> Path:
        """Stream one of its files (an output's {"filename", "subfolder", "type"}) to `dest`,
        stopping past `max_bytes`: BadOutput (it ran: the job is over, and billed as it ran)."""
        params = {"filename": str(item.get("filename") or ""), "subfolder": str(item.get("subfolder") or ""),
                  "type": str(item.get("type") or "output")}
        if not params["filename"]:
            raise BadOutput("the job's output names no file", provider=NAME)
        declared = written = 0
        try:
            with self.http.stream("GET", "/view", params=params) as response:
                if response.status_code >= 400:
                    response.read()
                    raise http.error_for(NAME, response)
                declared = int(response.headers.get("content-length") or 0)
                if declared > max_bytes:
                    raise BadOutput(f"its file is {declared:,} bytes, larger than {what} can be: refused at its "
                                    f"header", provider=NAME)
                with open(dest, "wb") as out:
                    for chunk in response.iter_bytes(1 << 16):
                        written += len(chunk)
                        if written > max_bytes:
                            raise BadOutput(f"its file passed {max_bytes:,} bytes, larger than {what} can be: "
                                            f"stopped", provider=NAME)
                        out.write(chunk)
                if declared and response.num_bytes_downloaded < declared:
                    raise CutShort(response.num_bytes_downloaded, declared, NAME)
        except httpx.RemoteProtocolError:
            raise CutShort(written, declared, NAME) from None
        except httpx.TimeoutException:
            raise TransientServerError("fetching the output timed out", provider=NAME) from None
        except httpx.TransportError as exc:
            raise TransientServerError(f"fetching the output failed ({type(exc).__name__})", provider=NAME) from None
        return dest


def safe_id(prompt_id: str) -> str:
    if not PROMPT_ID.fullmatch(prompt_id or ""):
        raise BadRequest(f"not a ComfyUI prompt id: {prompt_id[:40]!r}", provider=NAME)
    return prompt_id


def note_of(item: object) -> dict[str, Any]:
    """slate's note on a queued prompt or a history entry's prompt (its extra_data["slate"])."""
    prompt = item.get("prompt") if isinstance(item, dict) else item
    if isinstance(prompt, list) and len(prompt) > 3 and isinstance(prompt[3], dict):
        note = prompt[3].get("slate")
        return dict(note) if isinstance(note, dict) else {}
    return {}


def gpu_seconds(entry: dict[str, Any]) -> float | None:
    """The seconds a finished prompt held the GPU, from its status messages' timestamps (ms):
    `execution_start` to its end. None when the server stamps none."""
    messages = (entry.get("status") or {}).get("messages") or []
    started = ended = None
    for message in messages:
        if not (isinstance(message, list) and len(message) == 2 and isinstance(message[1], dict)):
            continue
        stamp = message[1].get("timestamp")
        if not isinstance(stamp, (int, float)) or isinstance(stamp, bool):
            continue
        if message[0] == "execution_start" and started is None:
            started = stamp
        elif message[0] in ENDS:
            ended = stamp
    if started is None or ended is None or ended < started:
        return None
    return round((ended - started) / 1000.0, 3)


def job_status(entry: dict[str, Any], usage: dict[str, Any] | None) -> JobStatus:
    """A finished prompt's history entry as the governor reads a job; `usage` what it used (its
    GPU seconds, priced by the rate card: a failed job held the GPU too)."""
    status = entry.get("status")
    if not isinstance(status, dict):
        # A server that keeps no status: finished, and its outputs say whether it made anything.
        return JobStatus("succeeded", progress=1.0, usage=usage)
    messages = [m for m in status.get("messages") or [] if isinstance(m, list) and len(m) == 2]
    said = {m[0]: m[1] for m in messages if isinstance(m[1], dict)}
    if "execution_interrupted" in said:
        return JobStatus("canceled", error="interrupted at ComfyUI", usage=usage)
    if status.get("status_str") == "success" and status.get("completed", True):
        return JobStatus("succeeded", progress=1.0, usage=usage)
    error = said.get("execution_error") or {}
    words = str(error.get("exception_message") or "").strip()
    where = f"node {error.get('node_id')} ({error.get('node_type')})" if error.get("node_id") else "the workflow"
    if OUT_OF_MEMORY.search(f"{error.get('exception_type', '')} {words}"):
        text = f"the GPU ran out of memory in {where}: lower the resolution or length, or free the GPU"
    else:
        text = f"{where} failed: {error.get('exception_type') or 'error'}: {words[:400] or 'no message'}"
    return JobStatus("failed", error=redact(text), usage=usage)


def output_files(entry: dict[str, Any], node: str) -> list[dict[str, Any]]:
    """The files the output node made, as its history entry lists them."""
    outputs = entry.get("outputs") or {}
    made = outputs.get(node) if isinstance(outputs, dict) else None
    if not isinstance(made, dict):
        return []
    for key in OUTPUT_LISTS:
        files = made.get(key)
        if isinstance(files, list) and files and all(isinstance(f, dict) for f in files):
            return files
    return []
