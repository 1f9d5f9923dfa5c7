"""The local judge as a vendor would keep it: each request booked before it is judged, each
verdict kept by our call id, so a verdict whose answer was lost is looked up, never asked twice.

The local judge (providers/local_judge.py) runs in the caller's process. When that process
dies between the request and the answer, the verdict is lost with it — and asking again would
put the same request to the judge a second time. `KeptJudge` wraps it: a request with a call
id is booked (what was asked: the files and the request, fsynced) before the judge reads it, and
its verdict is kept by that id. `recover(call_id)` then answers a lookup as a vendor's server
would: the kept verdict; or, booked and never answered (the process died mid-judgement), the
judgement finished now from what was booked — the judge's own book (what crash tests count)
still holds the request once; or, with no receipt, `NotReceived`: the request never got here,
nothing ran, and it may be sent now.

A request without a call id (the continuity gate's direct reading, free and not a paid call)
is passed through untouched. It must never change a verdict, and never judge anything but what
the judge is given.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slate.providers.base import CharacterRef, PanelRequest, ReferenceImages, Score, Verdict
from slate.providers.errors import NotReceived
from slate.providers.storage_local import write_atomic

if TYPE_CHECKING:
    from slate.providers.local_judge import LocalJudge


def _request(d: dict[str, Any]) -> PanelRequest:
    return PanelRequest(**{**d, "characters": tuple(CharacterRef(**c) for c in d["characters"])})


def _refs(refs: ReferenceImages) -> dict[str, object]:
    return {"plate": str(refs.plate), "turnarounds": {k: str(v) for k, v in refs.turnarounds.items()}}


def _refs_back(d: dict[str, Any]) -> ReferenceImages:
    return ReferenceImages(plate=Path(d["plate"]), turnarounds={k: Path(v) for k, v in d["turnarounds"].items()})


def verdict_of(d: dict[str, Any]) -> Verdict:
    return Verdict(tuple(Score(**s) for s in d["scores"]), d["judge"], usage=d.get("usage"))


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """A verdict as kept (`verdict_of` reads it back)."""
    return {"scores": [asdict(s) for s in verdict.scores], "judge": verdict.judge, "usage": verdict.usage}


class KeptJudge:
    """A local judge whose paid-call requests are booked and whose verdicts are kept by call id."""

    def __init__(self, judge: LocalJudge, folder: Path, *, complete: bool = True):
        self._judge = judge
        self.folder = Path(folder)
        #: whether every request this judge is asked comes through this folder (a film in a
        #: bucket is judged on several workers: a missing receipt then proves nothing)
        self.complete = complete
        self.name, self.model, self.variant = judge.name, judge.model, judge.variant

    def judgements(self) -> list[dict[str, Any]]:
        """The judge's own book of what it was asked (what crash tests count)."""
        return self._judge.judgements()

    # -- what it cannot read (providers.base.ReadsReferences): free, asked of the judge itself ----
    def unreadable_turnaround(self, sheet: Path, character_id: str,
                              wardrobe_colours: tuple[str | None, ...] = ()) -> str | None:
        return self._judge.unreadable_turnaround(sheet, character_id, wardrobe_colours)

    def unreadable_plate(self, plate: Path, location_id: str, size: tuple[int, int]) -> str | None:
        return self._judge.unreadable_plate(plate, location_id, size)

    # -- its free readings of the bible's references (no call: nothing to book) -----------------
    def turnaround_colours(self, sheet: Path, character_id: str, description: str) -> list[Score]:
        return self._judge.turnaround_colours(sheet, character_id, description)

    def locate_edit(self, plate: Path, description: str, instruction: str
                    ) -> tuple[list[tuple[int, int, int, int]], str] | None:
        return self._judge.locate_edit(plate, description, instruction)

    # -- the judge's calls, booked -------------------------------------------------------------
    def judge_panel(self, panel: Path, request: PanelRequest, refs: ReferenceImages, *,
                    client_ref: str | None = None) -> Verdict:
        return self._take(client_ref, {"method": "judge_panel", "panel": str(panel), "request": request.as_dict(),
                                       "refs": _refs(refs)},
                          lambda ref: self._judge.judge_panel(panel, request, refs, client_ref=ref))

    def judge_keyframes(self, frames: dict[str, Path], start_panel: Path, end_panel: Path | None,
                        request: PanelRequest, refs: ReferenceImages, *, client_ref: str | None = None) -> Verdict:
        return self._take(client_ref, {"method": "judge_keyframes", "frames": {k: str(v) for k, v in frames.items()},
                                       "start": str(start_panel), "end": str(end_panel) if end_panel else None,
                                       "request": request.as_dict(), "refs": _refs(refs)},
                          lambda ref: self._judge.judge_keyframes(frames, start_panel, end_panel, request, refs,
                                                                  client_ref=ref))

    def judge_continuity(self, last_frame: Path, first_frame: Path, previous: PanelRequest, request: PanelRequest,
                         refs: ReferenceImages, *, laid_out: bool = True, client_ref: str | None = None) -> Verdict:
        return self._take(client_ref, {"method": "judge_continuity", "last": str(last_frame),
                                       "first": str(first_frame), "previous": previous.as_dict(),
                                       "request": request.as_dict(), "refs": _refs(refs), "laid_out": laid_out},
                          lambda ref: self._judge.judge_continuity(last_frame, first_frame, previous, request, refs,
                                                                   laid_out=laid_out, client_ref=ref))

    # -- receipts and kept verdicts -----------------------------------------------------------
    def _receipt(self, client_ref: str) -> Path:
        return self.folder / f"{client_ref}.request.json"

    def _kept(self, client_ref: str) -> Path:
        return self.folder / f"{client_ref}.verdict.json"

    def _keep(self, client_ref: str, verdict: Verdict) -> Verdict:
        write_atomic(self._kept(client_ref), json.dumps(verdict_json(verdict), sort_keys=True).encode())
        return verdict

    def _take(self, client_ref: str | None, booked: dict[str, object],
              judge: Callable[[str | None], Verdict]) -> Verdict:
        if client_ref is None:
            return judge(None)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self._receipt(client_ref), json.dumps(booked, sort_keys=True).encode())
        return self._keep(client_ref, judge(client_ref))

    def recover(self, client_ref: str) -> Verdict | None:
        """The verdict given for our call id; one booked and never answered is judged now from
        what was booked; NotReceived when no receipt names the call."""
        kept = self._kept(client_ref)
        if kept.is_file():
            return verdict_of(json.loads(kept.read_text()))
        receipt = self._receipt(client_ref)
        if not receipt.is_file():
            if not self.complete:
                return None
            raise NotReceived(f"the local judge never received call {client_ref}", provider=self.name)
        return self._keep(client_ref, self._redo(json.loads(receipt.read_text())))

    def _redo(self, b: dict[str, Any]) -> Verdict:
        """The judgement a dead process was given, finished here (not booked again: the judge's
        own book already holds the request)."""
        request, refs = _request(b["request"]), _refs_back(b["refs"])
        if b["method"] == "judge_panel":
            return self._judge.judge_panel(Path(b["panel"]), request, refs)
        if b["method"] == "judge_keyframes":
            return self._judge.judge_keyframes({k: Path(v) for k, v in b["frames"].items()}, Path(b["start"]),
                                               Path(b["end"]) if b["end"] else None, request, refs)
        return self._judge.judge_continuity(Path(b["last"]), Path(b["first"]), _request(b["previous"]), request, refs,
                                            laid_out=b["laid_out"])
