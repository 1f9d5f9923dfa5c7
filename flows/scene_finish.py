"""After the stitch: the scene's transitions between approved clips, the finishing pass (graded
cut with its sound, issue 23), the profile's mezzanine and poster copied beside the cut in
renders/, and the timeline record `slate export` reads.

It must never call a provider or re-make a clip: a changed grade or cue re-makes only this.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger

from slate.flows.shot import ClipOutcome, PanelOutcome
from slate.manifests import LoadedFilm
from slate.tasks.run import Run, in_project
from slate.tasks.plan import ShotPlan
from slate.tasks.assembly import finishing_inputs
from slate.tasks.finish import finish_scene
from slate.tasks.take_inputs import FinishInput
from slate.tasks import export
from slate.tasks.can import in_place
from slate.flows.scene_result import Deliverable


def transitions_between(plans: list[ShotPlan], approved: list[str]) -> list[list[str | float]]:
    """Between two approved clips, the earlier one's transition — unless a shot between them
    was escalated, where the gap is a plain cut."""
    index = {p.shot: p for p in plans}
    out: list[list[str | float]] = []
    for a, b in zip(approved, approved[1:]):
        pa = index[a]
        adjacent = index[b].index == pa.index + 1
        out.append([pa.transition, pa.transition_seconds] if adjacent and pa.transition == "dissolve" else ["cut", 0.0])
    return out



def finishing_pass(run: Run, root: Path, film: LoadedFilm, approved: list[tuple[str, str, float]],
                   transitions: list[list[str | float]], width: int,
                   height: int) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The finishing pass after the stitch (issue 23), when the film asks for one: the graded cut
    with its sound. Cached by content apart from the stitch: a changed LUT or cue makes only this."""
    inputs = finishing_inputs(run.crew, root, film, run.scene, approved, transitions, run.profile)
    if inputs is None:
        return None, None
    made: dict[str, Any] = in_project(finish_scene, run, FinishInput(scene=run.scene, shots=inputs["shots"],
                                                                cues=inputs["cues"], lut=inputs["lut"],
                                                                edit=inputs["edit"], width=width, height=height,
                                                                fps=run.settings.fps),
                                 artifacts=lambda r: [r["uri"]])
    if made.get("loudness") is not None:
        get_run_logger().info("finished scene %s: %.1f LUFS (target %g), true peak %.1f dBTP", run.scene,
                              made["loudness"], made["target_lufs"], made["true_peak"])
    return inputs, made



def timeline(run: Run, root: Path, plans: list[ShotPlan], panels: dict[str, PanelOutcome],
             clips: dict[str, ClipOutcome], approved: list[str], inputs: dict[str, Any] | None,
             graded: dict[str, Any] | None, output: str, width: int, height: int) -> None:
    """The scene's edit as `slate export` reads it (tasks/export.py): every shot with its approved
    clip, in/out, transition, take, scores and status; the cues where they were placed. With a
    finishing pass, its OpenTimelineIO export is written beside the record too."""
    st = run.crew
    rows = {row["uri"]: row for row in (inputs or {}).get("shots", [])}
    shots = []
    for p in plans:
        c, pn = clips[p.shot], panels[p.shot]
        last = c.takes[-1] if c.takes else None
        row = rows.get(c.clip_uri or "", {})
        status = "approved" if c.clip_uri else ("rejected" if c.rejected else "escalated")
        shots.append({"shot": p.shot, "status": status,
                      "reason": c.rejected or c.escalated or pn.escalated or c.halted or pn.halted or "",
                      "media": export.media_path(st.storage, c.clip_uri) if c.clip_uri else None,
                      "seconds": c.seconds, "trim_in": row.get("trim_in", 0.0), "trim_out": row.get("trim_out", 0.0),
                      "transition": row.get("transition") or [p.transition if p.transition == "dissolve" else "cut",
                                                              p.transition_seconds if p.transition == "dissolve" else 0.0],
                      "take": last.take if last else None,
                      "scores": {s.name: s.value for s in (last.scores if last else []) if s.name},
                      "warnings": list(last.warnings) if last else []})
    total = graded["duration"] if graded else float("inf")
    cues = [{"file": c.get("file", ""), "media": export.media_path(st.storage, c["uri"]),
             "kind": c["kind"], "start": c["start"], "offset": c["offset"],
             # as long as it is heard: to the file's end, its `length`, or the scene's end
             "seconds": min(c["seconds"] - c["offset"], c["length"] or c["seconds"], total - c["start"]),
             "gain_db": c["gain_db"]} for c in (inputs or {}).get("cues", []) if c["start"] < total]
    record = export.timeline_record(film=run.film, scene=run.scene, profile=run.profile, fps=run.settings.fps, width=width,
                                    height=height, output=output, shots=shots, cues=cues, finished=graded)
    path = export.write_record(export.record_path(root, run.scene, run.profile), record)
    if graded is not None:
        # Beside the record, not in renders/: what renders/ holds is what the can restores.
        written = export.write_timeline(export.build_timeline([record]), "otio", path.with_suffix(".otio"))
        get_run_logger().info("timeline for an editor: %s (slate export %s --format fcp7|edl for the others)",
                              written, root)


#: What a finishing pass may make beside the cut, and the name each takes in renders/ after the
#: cut's own stem (a partial cut's extras are named like it: never under the finished scene's name).
EXTRAS = {"mezzanine_uri": ("mezzanine", "{stem}.mov"), "poster_uri": ("poster", "{stem}-poster.png")}


def extras_into_renders(run: Run, graded: dict[str, Any] | None, output: str) -> list[Deliverable]:
    """The profile's mezzanine and poster frame beside the cut in renders/, where the film-maker
    and an editor look for them (the finishing pass stored them; here they are copied out)."""
    made = []
    for key, (kind, name) in EXTRAS.items():
        uri = (graded or {}).get(key)
        if not uri:
            continue
        path = Path(output).with_name(name.format(stem=Path(output).stem))
        in_place(run.crew.storage, uri, path, path.suffix.lstrip("."))
        made.append(Deliverable(kind=kind, file=path.name, uri=uri))
    return made
