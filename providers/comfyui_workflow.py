"""A film's ComfyUI workflow and what slate fills in it (issue 41): read, checked, filled.

A film keeps one workflow per model under its folder, in ComfyUI's API format (what ComfyUI's
"Export (API)" writes [D docs.comfy.org, "workflow API format"]): `comfyui/<model>.json`, a JSON
object {node id: {"class_type": name, "inputs": {input: a value, or a link [node id, output
index]}}}, where the model is named `panel-<name>` (panels), `video-<name>` (clips), `faceswap-<name>`
(a face swapped in a finished clip) or `upscale-<name>` (a finished clip made larger). Beside it a
small mapping, `comfyui/<model>.toml`, says which node inputs slate fills and which node's output
is the result — so the workflow stays exactly as ComfyUI exported it, and exporting it again
keeps the mapping:

    output = "9"                     # the node whose output is the result (SaveImage, SaveVideo)
    frames_step = 4                  # optional: the model makes step·n+1 frames (Wan: 4)
    without_end = ["52", "53"]       # clips: the nodes removed when a shot has no end frame
    job_seconds = 600                # optional: how long one job takes on this machine
    [inputs]                         # slot = "node.input", or a list of them
    prompt = "6.text"
    seed = ["3.seed"]
    start_image = "51.image"

Slots (SLOTS): prompt, seed, width, height, image (a panel's picture to start from: the shot's
human composite when it has one, else the location plate), characters (a panel's: one LoadImage
per character, in the shot's order, each given that character's turnaround sheet; a shot with
fewer characters runs without the loaders it leaves empty, their links dropped; one with more puts
the rest on the last loader's picture, the sheets one under another), and for clips frames (the
frame count), fps, start_image, end_image; for a pass over a finished clip, clip (a LoadVideo's
`file`: slate uploads the clip), and for a face swap face (a LoadImage: the character's approved
face) and face_index (which face of the frame, counted left to right from 0, as ReActor's
`input_faces_index` takes it), for an upscale width and height (the size to make it). The negative prompt is the workflow's own (slate has none to send): a
film writes it once, in its workflow. An image slot is a LoadImage node's `image`: slate uploads
the picture and puts its name there. A clip is asked at the film's frame rate (frames: its seconds
at that rate, the fps slot that rate), as the keyframe gate holds it to that rate; a model that
makes step·n+1 frames (Wan: 4) says `frames_step`, and is asked the next such count up. `job_seconds`
is how long one job takes on the film's machine. A shot without an end frame runs the workflow with the
`without_end` nodes taken out, and every input that linked to one of them dropped (so each must be
an optional input of the node that read it: WanFirstLastFrameToVideo's end_image is [D source]).

`load` reads both files and checks them (`WorkflowError` lists every problem, each naming the file
and the node); `filled` makes the graph to send for one request. It must never reach the network,
never let a model's name become a path outside the film's `comfyui/` folder (the registry holds
a film's own model names to providers.spec.OWN_MODEL), and never change the film's files.
"""
from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slate.errors import SlateError
from slate.providers.base import Storage
from slate.providers.spec import OWN_MODEL

FOLDER = "comfyui"
MAX_BYTES = 4 * 1024 * 1024        # an API-format workflow is kilobytes; a file past this is not one
#: What each capability's workflows are named, and what the slate fills in them.
PREFIXES = {"panel-": "image", "video-": "video", "faceswap-": "faceswap", "upscale-": "upscale"}
SLOTS: dict[str, tuple[str, ...]] = {
    "image": ("prompt", "seed", "width", "height", "image", "characters"),
    "video": ("prompt", "seed", "width", "height", "frames", "fps", "start_image", "end_image"),
    "faceswap": ("clip", "face", "face_index", "fps", "seed"),
    "upscale": ("clip", "width", "height", "fps", "seed"),
}
#: The slots a workflow must map: without them the result is not this shot's.
REQUIRED: dict[str, tuple[str, ...]] = {"image": ("prompt",), "video": ("prompt", "start_image", "frames"),
                                        "faceswap": ("clip", "face"), "upscale": ("clip",)}
#: Slots filled with the name of a file slate uploads (a LoadImage's image, a LoadVideo's file).
IMAGE_SLOTS = ("image", "characters", "start_image", "end_image", "clip", "face")
#: What each capability's workflow is called where a person reads it.
WHAT = {"image": "panel", "video": "clip", "faceswap": "face-swap", "upscale": "upscale"}
KEYS = ("output", "inputs", "frames_step", "without_end", "job_seconds")


class WorkflowError(SlateError, ValueError):
    """A workflow or its mapping slate cannot run: `problems` are (file, where, message), one each."""

    def __init__(self, problems: Sequence[tuple[str, str, str]]):
        self.problems = list(problems)
        super().__init__("; ".join(f"{f}: {w}: {m}" for f, w, m in self.problems))


@dataclass(frozen=True)
class Target:
    """One node input slate fills."""

    node: str
    input: str

    def __str__(self) -> str:
        return f"{self.node}.{self.input}"


@dataclass(frozen=True)
class Workflow:
    """A workflow as read and checked: its graph, what slate fills, and where the result is."""

    model: str
    capability: str                  # "image" | "video" | "faceswap" | "upscale"
    graph: Mapping[str, Any]
    slots: Mapping[str, tuple[Target, ...]]
    output: str
    frames_step: int = 1
    without_end: tuple[str, ...] = ()
    job_seconds: float | None = None
    digest: str = ""                 # both files' bytes: what changes what it makes (the variant)
    files: tuple[str, str] = field(default=("", ""))

    def class_types(self) -> dict[str, str]:
        """node id -> its class type: what the server must have."""
        return {node: str(spec["class_type"]) for node, spec in self.graph.items()}

    def takes(self, slot: str) -> bool:
        return slot in self.slots

    def filled(self, values: Mapping[str, object], *, end_frame: bool) -> dict[str, Any]:
        """The graph to send: a copy with each mapped input set to its slot's value (a slot not in
        `values` keeps the workflow's own; `characters` is a list, one name per loader), and taken
        out of it, with every input that linked to them: the `without_end` nodes when the request
        has no end frame, and the character loaders it leaves empty."""
        graph: dict[str, Any] = copy.deepcopy(dict(self.graph))
        cast = values.get("characters")
        names = list(cast) if isinstance(cast, (list, tuple)) else []
        gone = {t.node for t in self.slots.get("characters", ())[len(names):]}
        if not end_frame:
            gone |= set(self.without_end)
        for node in gone:
            graph.pop(node, None)
        for spec in graph.values():
            inputs = spec["inputs"]
            for name in [n for n, v in inputs.items() if _link(v) and str(v[0]) in gone]:
                del inputs[name]
        for slot, value in values.items():
            targets = self.slots.get(slot, ())
            for i, target in enumerate(targets):
                if target.node in graph:
                    graph[target.node]["inputs"][target.input] = names[i] if slot == "characters" else value
        return graph


def capability_of(model: str) -> str | None:
    """The capability a film's own model serves, by its name (`panel-…`, `video-…`, `faceswap-…`,
    `upscale-…`)."""
    return next((c for prefix, c in PREFIXES.items() if model.startswith(prefix)), None)


def keys_of(model: str) -> tuple[str, str]:
    """The storage keys of a model's workflow and mapping (the name is held to OWN_MODEL first)."""
    if not OWN_MODEL.fullmatch(model):
        raise WorkflowError([(f"{FOLDER}/", "model", f"{model!r} is not a workflow name (lowercase letters, "
                                                     f"digits, '-' and '_')")])
    return f"{FOLDER}/{model}.json", f"{FOLDER}/{model}.toml"


def _link(value: object) -> bool:
    """Whether an input's value is a link to another node's output ([node id, output index])."""
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], (str, int))
            and isinstance(value[1], int) and not isinstance(value[1], bool))


def _read(storage: Storage, key: str) -> bytes | None:
    if not storage.key_exists(key):
        return None
    return storage.read_key(key, max_bytes=MAX_BYTES)


def load(storage: Storage, model: str) -> Workflow:
    """The model's workflow and mapping from the film's storage, checked: WorkflowError listing
    every problem (each naming the file, the node or key, and what is wrong) when it cannot run."""
    capability = capability_of(model)
    wf_key, map_key = keys_of(model)
    if capability is None:
        raise WorkflowError([(wf_key, "model", f"a workflow's name starts with {' or '.join(PREFIXES)}, "
                                               f"which says what it makes")])
    try:
        raw, mapped = _read(storage, wf_key), _read(storage, map_key)
    except ValueError as exc:   # over MAX_BYTES, or not a readable file
        raise WorkflowError([(wf_key, "file", str(exc))]) from None
    missing = [(k, "file", "not in the film (export the workflow from ComfyUI with Export (API), and write "
                           "its mapping beside it: docs/comfyui.md)") for k, v in ((wf_key, raw), (map_key, mapped))
               if v is None]
    if missing or raw is None or mapped is None:
        raise WorkflowError(missing)
    problems: list[tuple[str, str, str]] = []
    graph = _graph(wf_key, raw, problems)
    mapping = _mapping(map_key, mapped, problems)
    if graph is None or mapping is None:
        raise WorkflowError(problems)
    slots = _slots(map_key, capability, graph, mapping.get("inputs"), problems)
    output = str(mapping.get("output", ""))
    if output not in graph:
        problems.append((map_key, "output", f"node {output!r} is not in {wf_key}" if output else
                         "names no output node (the node whose output is the result: SaveImage, SaveVideo)"))
    without_end = _without_end(map_key, wf_key, graph, slots, output, mapping.get("without_end", []), problems)
    step = _number(map_key, "frames_step", mapping.get("frames_step", 1), problems, whole=True, most=64)
    seconds = _number(map_key, "job_seconds", mapping.get("job_seconds"), problems, most=86400)
    if problems:
        raise WorkflowError(problems)
    digest = hashlib.sha256(raw + b"\0" + mapped).hexdigest()[:16]
    return Workflow(model, capability, graph, slots, output, int(step or 1), without_end, seconds, digest,
                    (wf_key, map_key))


def _graph(key: str, raw: bytes, problems: list[tuple[str, str, str]]) -> dict[str, Any] | None:
    try:
        graph = json.loads(raw)
    except ValueError as exc:
        problems.append((key, "file", f"not JSON ({exc})"))
        return None
    if isinstance(graph, dict) and "nodes" in graph and "links" in graph:
        problems.append((key, "file", "this is ComfyUI's UI format (nodes and links): export the workflow with "
                                      "Export (API) instead"))
        return None
    if not isinstance(graph, dict) or not graph:
        problems.append((key, "file", "not an API-format workflow ({node id: {class_type, inputs}})"))
        return None
    for node, spec in graph.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("class_type"), str) or not spec["class_type"] \
                or not isinstance(spec.get("inputs"), dict):
            problems.append((key, f"node {node}", "not a node: it needs a class_type and an inputs object"))
            continue
        for name, value in spec["inputs"].items():
            if _link(value) and str(value[0]) not in graph:
                problems.append((key, f"node {node} ({spec['class_type']})",
                                 f"input {name!r} links node {value[0]}, which is not in the workflow"))
    return graph


def _mapping(key: str, raw: bytes, problems: list[tuple[str, str, str]]) -> dict[str, Any] | None:
    try:
        mapping = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append((key, "file", f"not valid TOML ({exc})"))
        return None
    for extra in sorted(set(mapping) - set(KEYS)):
        problems.append((key, extra, f"unknown key (known: {', '.join(KEYS)})"))
    if not isinstance(mapping.get("inputs", {}), dict):
        problems.append((key, "inputs", "a table of slot = \"node.input\""))
        mapping["inputs"] = {}
    return mapping


def _slots(key: str, capability: str, graph: Mapping[str, Any], inputs: Mapping[str, Any] | None,
           problems: list[tuple[str, str, str]]) -> dict[str, tuple[Target, ...]]:
    """Each mapped slot's node inputs, each one held to the workflow: the node is there, the input
    is one of its inputs, and it holds a value (slate fills values, never links)."""
    slots: dict[str, tuple[Target, ...]] = {}
    for slot, where in (inputs or {}).items():
        field_ = f"inputs.{slot}"
        if slot not in SLOTS[capability]:
            problems.append((key, field_, f"not a slot of a {WHAT[capability]} workflow "
                                          f"(slots: {', '.join(SLOTS[capability])})"))
            continue
        listed = [where] if isinstance(where, str) else where if isinstance(where, list) else None
        if not listed or not all(isinstance(w, str) for w in listed):
            problems.append((key, field_, 'a "node.input", or a list of them'))
            continue
        targets = []
        for text in listed:
            node, _, name = text.rpartition(".")
            spec = graph.get(node)
            if not node or not name:
                problems.append((key, field_, f"{text!r} is not \"node.input\""))
            elif not isinstance(spec, dict) or not isinstance(spec.get("inputs"), dict):
                problems.append((key, field_, f"node {node} is not in the workflow"))
            elif name not in spec["inputs"]:
                problems.append((key, field_, f"node {node} ({spec.get('class_type')}) has no input {name!r} "
                                              f"(its inputs: {', '.join(spec['inputs']) or 'none'})"))
            elif _link(spec["inputs"][name]):
                problems.append((key, field_, f"node {node} ({spec.get('class_type')}): {name!r} is linked to node "
                                              f"{spec['inputs'][name][0]}; slate fills a value, not a link"))
            elif slot in IMAGE_SLOTS and not isinstance(spec["inputs"][name], str):
                problems.append((key, field_, f"node {node} ({spec.get('class_type')}): {name!r} is not a file's "
                                              f"name (a LoadImage's image, a LoadVideo's file)"))
            else:
                targets.append(Target(node, name))
        if targets:
            slots[slot] = tuple(targets)
    for slot in REQUIRED[capability]:
        if slot not in (inputs or {}):
            problems.append((key, f"inputs.{slot}", f"not mapped: a {WHAT[capability]} workflow needs "
                             f"{', '.join(REQUIRED[capability])}"))
    return slots


def _without_end(key: str, wf_key: str, graph: Mapping[str, Any], slots: Mapping[str, tuple[Target, ...]],
                 output: str, listed: object, problems: list[tuple[str, str, str]]) -> tuple[str, ...]:
    if not isinstance(listed, list) or not all(isinstance(n, (str, int)) for n in listed):
        problems.append((key, "without_end", "a list of node ids"))
        return ()
    nodes = tuple(str(n) for n in listed)
    for node in nodes:
        if node not in graph:
            problems.append((key, "without_end", f"node {node} is not in {wf_key}"))
    if output in nodes:
        problems.append((key, "without_end", f"removes the output node {output}"))
    end_nodes = {t.node for t in slots.get("end_image", ())}
    if end_nodes - set(nodes):
        problems.append((key, "without_end", f"a shot without an end frame must lose the end frame's loader "
                                             f"(node {', '.join(sorted(end_nodes - set(nodes)))}): list it here"))
    return nodes


def _number(key: str, name: str, value: object, problems: list[tuple[str, str, str]], *, most: float,
            whole: bool = False) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)) \
            or not 0 < value <= most:
        problems.append((key, name, f"{'a whole number' if whole else 'a number'} above 0 and at most {most:g}, "
                                    f"not {value!r}"))
        return None
    return float(value)
