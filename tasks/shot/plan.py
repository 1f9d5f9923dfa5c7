"""From manifests and the bible lock to the exact requests a shot's stages will send.

A `ShotPlan` is the resolved shot: locked description blocks assembled into prompts, the
wardrobe of this scene, the plate and turnarounds as content URIs, the clip size of the
profile. It is what the cache keys are made of. Pure functions: no I/O, no Prefect.

It must never add anything to a prompt that is not a locked block or the shot's own action.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, replace
from typing import Any, Literal

from pydantic import BaseModel, JsonValue, SerializerFunctionWrapHandler, TypeAdapter, model_serializer

from slate.manifests import LoadedFilm, Scene, Shot
from slate.manifests.continuity_ledger import continuity_at
from slate.manifests.frame_rate import Fps
from slate.manifests.profiles import PROFILES
from slate.providers.base import CharacterRef, ClipRequest, PanelRequest
from slate.providers.prompts import Blocks, Family, Rules, assemble, load_rules
from slate.tasks.gates.references import BibleLock, lock_scene_references


#: A panel's moment in its shot: its start frame, or its end frame in start+end mode.
Moment = Literal["start", "end"]
_PANEL_REQUEST = TypeAdapter(PanelRequest)


class ShotPlan(BaseModel):
    """One shot resolved into what its stages will send (see the module's docstring)."""

    film: str
    scene: str
    shot: str
    index: int
    duration: float
    frame_mode: str
    chain: bool
    chain_position: int     # 0 for a shot that starts a chain (or stands alone), 1, 2, … after
    critical: bool
    transition: str
    transition_seconds: float
    resolution: str
    width: int
    height: int
    fps: Fps                # as the film keeps it (an int for a whole rate: the keys it always had)
    movement: str
    camera_fixed: bool
    seed: int
    # The start panel's PanelRequest as its fields (seed 0: each take draws its own), and the end
    # panel's in start+end mode: plain fields because the estimate (governor/estimate.py) reads a
    # plan by name; `request_of` is the typed request.
    start: dict[str, Any]
    end: dict[str, Any] | None
    clip_blocks: Blocks             # the clip's locked blocks
    clip_prompt: str        # the clip's prompt for the run's first video model
    video_family: str = "local"
    recipe: list[str] = []  # the shot's single edits of its start panel, in order (issue 24)
    # The images its video model is given besides frames (providers.base.ClipRequest.references):
    # a reference shot's cast, plate and extras; a start shot's cast and extras when it lists any.
    references: list[dict[str, JsonValue]] = []
    # Whether its clip asks the video model for its sound (the run's model_audio, issue 23).
    audio: bool = False
    # Its characters who walk in partway (the shot's `enters`): the keyframe gate looks for
    # them in the clip's last part only.
    enters: list[str] = []
    # Its characters whose face is swapped for their approved one after the keyframe gate (issue 41).
    face_swap: list[str] = []

    @model_serializer(mode="wrap")
    def _without_empty_additions(self, handler: SerializerFunctionWrapHandler) -> Any:
        # A shot without a recipe, references, sound asked or an entrance dumps (and so keys)
        # exactly as before they existed.
        data = handler(self)
        if isinstance(data, dict):
            for name in ("recipe", "references", "audio", "enters", "face_swap"):
                if not data.get(name):
                    data.pop(name, None)
        return data

    @property
    def by_reference(self) -> bool:
        """A reference shot: no panel, the video model gets references and no frame."""
        return self.frame_mode == "reference"

    def request_of(self, moment: Moment) -> PanelRequest:
        """The plan's request of a moment's panel, as planned (seed 0)."""
        fields = self.start if moment == "start" else self.end
        if fields is None:
            raise ValueError(f"shot {self.shot} has no end panel: its frame mode is {self.frame_mode}")
        return _PANEL_REQUEST.validate_python(fields)

    def panel_request(self, moment: Moment, take: int) -> PanelRequest:
        """The request of one take of a moment's panel: the plan's, with the take's own seed."""
        return replace(self.request_of(moment), seed=take_seed(self.seed, moment, take))

    def clip_request(self, start_uri: str, end_uri: str | None, take: int, video_model: str | None = None,
                     rules: Rules | None = None) -> ClipRequest:
        """The clip of one take — for the run's video model, or for a fallback `video_model`
        (its family's prompt from the same locked blocks)."""
        prompt = self.clip_prompt
        if video_model is not None:
            rules = rules or load_rules()
            family = rules.family_of(video_model)
            if family.name != self.video_family:
                prompt = assemble(self.clip_blocks, family, "clip")
        return ClipRequest(prompt=prompt, start_uri="" if self.by_reference else start_uri, end_uri=end_uri,
                           seconds=self.duration, width=self.width, height=self.height, fps=self.fps,
                           resolution=self.resolution, movement=self.movement,
                           camera_fixed=self.camera_fixed, seed=take_seed(self.seed, "clip", take),
                           references=tuple(self.references), audio=self.audio)


def shot_seed(scene_id: str, shot_id: str, seed: int) -> int:
    """A shot's base seed follows its id, not its position: moving a shot costs nothing."""
    digest = hashlib.sha256(f"{scene_id}/{shot_id}".encode()).digest()
    return seed + int.from_bytes(digest[:3], "big")


def take_seed(seed: int, what: str, take: int) -> int:
    """Each take is a new draw; the same take is always the same draw."""
    digest = hashlib.sha256(f"{seed}|{what}|{take}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _camera(shot: Shot) -> str:
    cam = shot.camera
    return f"{cam.framing.capitalize()} shot, {cam.angle} angle, {cam.movement.replace('_', ' ')}."


def moment_blocks(film: LoadedFilm, scene_id: str, shot_id: str, moment: str) -> Blocks:
    """The locked blocks of a shot's start or end moment (or, moment "clip", of its clip)."""
    scene = film.scene(scene_id)
    shot = scene.shot(shot_id)
    loc = film.location(scene.location_of(shot))
    people = []
    for cid in shot.characters:
        line = f"{cid}: {film.character(cid).description.strip()}"
        if cid in scene.wardrobe:
            line += f" Wearing: {scene.wardrobe[cid].description.strip()}"
        people.append(line.rstrip(".") + ".")
    if moment == "end" and shot.end_action:
        action = shot.end_action.strip()
    elif moment == "clip" and shot.frame_mode == "start_end" and shot.end_action:
        action = f"{shot.action.strip()} Then: {shot.end_action.strip()}"
    else:
        action = shot.action.strip()
    environment, props = f"{loc.id}: {loc.description.strip()}", tuple(shot.props)
    if scene.continuity is not None or shot.continuity is not None:
        people, environment, props = _held_to_the_ledger(scene, shot, moment, people, environment)
    return Blocks(tuple(people), environment, _camera(shot), props, action, shot.camera.fixed)


def _held_to_the_ledger(scene: Scene, shot: Shot, moment: str, people: list[str],
                        environment: str) -> tuple[list[str], str, tuple[str, ...]]:
    """Issue 58: the prompt states what the continuity ledger holds at this moment, in physical
    words (never "as before"): each prop's state, place and side of frame, each character's side
    and facing, the light — the start's for a start panel and a clip (a clip's changed things with
    their state by its end), the end's for an end panel."""
    from slate.manifests.continuity_ledger import ledger_of, said
    state = next(s for s in ledger_of(scene) if s.shot == shot.id)
    props_at, blocking_at, light = ((state.end_props, state.end_blocking, state.end_light) if moment == "end"
                                    else (state.start_props, state.start_blocking, state.start_light))
    changed = set((shot.continuity.changes if shot.continuity else {}))
    shown = list(dict.fromkeys([*shot.props, *((shot.continuity.props if shot.continuity else {}))]))
    props = []
    for name in shown:
        words = said(name, props_at[name]) if props_at.get(name) else name
        if moment == "clip" and name in changed and state.end_props.get(name) != props_at.get(name):
            words += f" (by the end of the shot: {said(name, state.end_props[name]).removeprefix('the ' + name + ', ')})"
        props.append(words)
    placed = []
    for cid, line in zip(shot.characters, people):
        where = blocking_at.get(cid)
        placed.append(line if not where else f"{line} {said(cid, where).removeprefix('the ' + cid + ', ').capitalize()}.")
    if light:
        lit = [f"{light['time']}" if "time" in light else "",
               f"key light from frame {light['key']}" if light.get("key") in ("left", "right") else
               (f"key light from the {light['key']}" if "key" in light else ""),
               f"{light['temperature']} light" if "temperature" in light else ""]
        environment += " Light: " + ", ".join(w for w in lit if w) + "."
    # One entry: the prompt joins props with commas, and a prop's own words hold commas.
    return placed, environment, ("; ".join(props),) if props else ()


def panel_prompt(film: LoadedFilm, scene_id: str, shot_id: str, moment: str, family: Family | None = None) -> str:
    """A moment's panel prompt; a start moment made from a human composite is its polish pass."""
    family = family or load_rules().family("local")
    shot = film.scene(scene_id).shot(shot_id)
    kind = "polish" if moment == "start" and shot.panel_override else "panel"
    return assemble(moment_blocks(film, scene_id, shot_id, moment), family, kind)


def plan_scene(film: LoadedFilm, scene_id: str, lock: BibleLock, profile_name: str, fps: Fps, *,
               panel_model: str = "local:local-compositor-v1", video_model: str = "local:local-ffmpeg-v1",
               rules: Rules | None = None, audio: bool = False) -> list[ShotPlan]:
    """Every shot of a scene resolved into its requests, prompts in the families of the run's
    panel and (first) video model; `audio`: its clips ask the video model for their sound."""
    rules = rules or load_rules(film.root)
    panel_family, video_family = rules.family_of(panel_model), rules.family_of(video_model)
    scene = film.scene(scene_id)
    profile = PROFILES[profile_name]
    plans, position = [], 0
    for i, shot in enumerate(scene.shots):
        position = position + 1 if shot.chain else 0
        resolution, width, height = profile.for_shot(shot.critical)
        loc_id = scene.location_of(shot)
        chars = []
        for cid in shot.characters:
            ward = scene.wardrobe.get(cid)
            chars.append(CharacterRef(id=cid, description=film.character(cid).description.strip(),
                                      turnaround_uri=lock.characters[cid].uri,
                                      wardrobe=ward.description if ward else None,
                                      wardrobe_colour=ward.colour if ward else None))
        override = lock.overrides[shot.panel_override].uri if shot.panel_override else None

        def request(moment: Moment) -> dict[str, Any]:
            req = PanelRequest(prompt=panel_prompt(film, scene_id, shot.id, moment, panel_family), location_id=loc_id,
                               plate_uri=lock.locations[loc_id].uri, characters=tuple(chars),
                               framing=shot.camera.framing, angle=shot.camera.angle,
                               movement=shot.camera.movement, width=width, height=height, seed=0,
                               moment=moment, override_uri=override if moment == "start" else None,
                               continuity=continuity_at(scene, shot, moment))
            return req.as_dict()

        seed = shot_seed(scene_id, shot.id, shot.seed)
        refs: list[dict[str, JsonValue]] = []
        if shot.frame_mode == "reference" or shot.references:
            refs = [{"uri": c.turnaround_uri, "kind": "character", "name": c.id,
                     **({"colour": c.wardrobe_colour} if c.wardrobe_colour else {}),
                     **({"views": list(shot.views)} if shot.views else {})} for c in chars]
            if shot.frame_mode == "reference":  # with a start frame, the set is in the frame already
                refs.append({"uri": lock.locations[loc_id].uri, "kind": "location", "name": loc_id,
                             # laid out as its start panel would be (the blocking a cut is judged by)
                             "framing": shot.camera.framing, "angle": shot.camera.angle,
                             "seed": take_seed(seed, "start", 1)})
            refs += [{"uri": lock.overrides[key].uri, "kind": "extra", "name": key} for key in shot.references]
        plans.append(ShotPlan(
            film=film.film.id, scene=scene_id, shot=shot.id, index=i, duration=shot.duration,
            frame_mode=shot.frame_mode, chain=shot.chain, chain_position=position, critical=shot.critical,
            transition=shot.transition_out.kind, transition_seconds=shot.transition_out.duration,
            resolution=resolution, width=width, height=height, fps=fps, movement=shot.camera.movement,
            camera_fixed=shot.camera.fixed, seed=seed, references=refs,
            start=request("start"), end=request("end") if shot.frame_mode == "start_end" else None,
            clip_blocks=(clip := moment_blocks(film, scene_id, shot.id, "clip")),
            clip_prompt=assemble(clip, video_family, "clip"), video_family=video_family.name,
            recipe=list(shot.recipe), audio=audio, enters=list(shot.enters), face_swap=list(shot.face_swap),
        ))
    return plans


def plan_from_project(film: LoadedFilm, scene_id: str, profile_name: str, fps: Fps, *,
                      panel_model: str = "local:local-compositor-v1", video_model: str = "local:local-ffmpeg-v1",
                      rules: Rules | None = None, audio: bool = False) -> list[ShotPlan]:
    """A scene's plans outside any run (estimates, checks, benchmarks): its references locked from
    the project's storage exactly as a run would, with no Prefect and no provider call."""
    from slate.providers.registry import storage_for
    storage = storage_for(film.root)
    try:
        return plan_scene(film, scene_id, lock_scene_references(storage, film, scene_id), profile_name, fps,
                          panel_model=panel_model, video_model=video_model, rules=rules, audio=audio)
    finally:
        close = getattr(storage, "close", None)
        if callable(close):
            close()
