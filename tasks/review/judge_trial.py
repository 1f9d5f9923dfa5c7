"""Judge trials (issue 60): a judge measured on panels with known answers before a film trusts it.

The cases are the example film's panel requests drawn by the local painter at seeds of their own —
clean ones, and one of each fault kind it can draw off-model in turn (TRIAL_FAULTS: a character
recoloured, the wrong location plate, a character left out, artefacts, a prop moved to the other
side or left out against the continuity ledger) — so every case's right
answer is known: a clean panel should pass, a faulty one fail. Each case is judged as the panel
gate asks a judge (tasks/gates/gate.py `ask_judge`, through the governor: a paid judge's verdict is a
ledger row, priced, under the trial's cap, and a trial run again pays nothing for a verdict it
already has). The cases are the ones benchmarks/judge_trials.py draws for the local judge, so the
two print the same figures on the same seed.

What is kept, per judge (`.slate/judge_trials/<provider>--<model>.json`): per kind the cases, how
many the judge failed and how many it could not judge; the seconds and the money per judgement.
`slate check` shows the run's judge with its figures, and a film's floor (`[judge_trial]`
`min_catch`, `max_false_alarms` in slate.toml) refuses a run whose judge is under it or unmeasured.

It must never count a "cannot judge" as a catch or a pass, send a case past the cap it was given,
or keep figures it did not measure.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slate.tasks.run.run import Crew

from slate.errors import SlateError
from slate.governor.chokepoint import CallSpec, Usage
from slate.governor.estimate import panel_gate_tokens
from slate.governor.money import fmt_usd, usd
from slate.providers.base import ImageGenerator, PanelRequest, Verdict, fingerprint

__all__ = ["TRIAL_FAULTS", "Case", "Tally", "TrialResult", "cases", "trial_requests", "painter_settings",
           "run_trial", "kept", "ladder_share", "measured_line", "floor_problems", "TrialRefused"]

#: The faults the local painter draws into a panel (providers/local_draw.py FAULT_KINDS and, against
#: the continuity ledger, two of its CONTINUITY_FAULT_KINDS: held to them by a test), and what of
#: the rubric each breaks.
TRIAL_FAULTS = ("recolour", "wrong_plate", "missing", "corrupted", "prop_moved", "prop_removed")
BREAKS = {"recolour": "identity/wardrobe", "wrong_plate": "location", "missing": "a character missing",
          "corrupted": "artefacts", "prop_moved": "a prop moved", "prop_removed": "a prop missing"}
#: The faults drawn only on a panel whose ledger holds a prop (the others: on any panel).
PROP_FAULTS = ("prop_moved", "prop_removed")
CLEAN_SEED, FAULT_SEED = 10_000, 20_000
FOLDER = Path(".slate") / "judge_trials"
PAINTER = "local:local-compositor-v1"


class TrialRefused(SlateError, ValueError):
    """A trial that would cost more than its cap: nothing was sent."""


@dataclass(frozen=True)
class Case:
    kind: str             # "clean" or a fault kind
    number: int
    request: PanelRequest


def cases(requests: Sequence[PanelRequest], clean: Iterable[int], faulty: Iterable[int]) -> list[Case]:
    """Case i of the clean ones is request i (round the list) at seed CLEAN_SEED + i; faulty case i
    is drawn with fault kind i (round TRIAL_FAULTS) at FAULT_SEED + i — a prop's fault on the panels
    whose ledger holds a prop —: each case its own seed, so a sample of numbers is a subset of the
    whole trial."""
    with_props = [r for r in requests if (r.continuity or {}).get("props")] or list(requests)
    out = [Case("clean", i, replace(requests[i % len(requests)], seed=CLEAN_SEED + i)) for i in clean]
    for i in faulty:
        kind = TRIAL_FAULTS[i % len(TRIAL_FAULTS)]
        pool = with_props if kind in PROP_FAULTS else requests
        out.append(Case(kind, i, replace(pool[i % len(pool)], seed=FAULT_SEED + i)))
    return out


def trial_requests(root: Path, profile: str = "draft") -> list[PanelRequest]:
    """The film's start and end panel requests, resolved against its own storage."""
    from slate.manifests import load_film
    from slate.tasks.shot.plan import plan_from_project
    film = load_film(root)
    out = []
    for _, scene in film.scenes:
        for plan in plan_from_project(film, scene.id, profile, 24):
            out.append(plan.panel_request("start", 1))
            if plan.end:
                out.append(plan.panel_request("end", 1))
    return out


def painter_settings(kind: str) -> dict[str, Any]:
    """The local painter's own settings that draw `kind` on every panel (none for a clean case)."""
    return {"fault_rate": 0.0} if kind == "clean" else {"fault_rate": 1.0, "fault_kinds": kind}


@dataclass
class Tally:
    cases: int = 0
    failed: int = 0          # the judge failed the panel (for a fault: caught; for a clean one: a false alarm)
    cannot: int = 0          # the judge could not judge it (neither a catch nor a pass)

    @property
    def share(self) -> float:
        return self.failed / self.cases if self.cases else 0.0


@dataclass
class TrialResult:
    judge: str
    n: int
    measured_at: str
    kinds: dict[str, Tally] = field(default_factory=dict)
    seconds: float = 0.0
    cost: str = "0"

    @property
    def judgements(self) -> int:
        return sum(t.cases for t in self.kinds.values())

    @property
    def catch(self) -> float:
        faults = [t for k, t in self.kinds.items() if k != "clean"]
        total = sum(t.cases for t in faults)
        return sum(t.failed for t in faults) / total if total else 0.0

    @property
    def false_alarms(self) -> float:
        return self.kinds["clean"].share if "clean" in self.kinds else 0.0

    @property
    def worst(self) -> tuple[str, float]:
        faults = {k: t.share for k, t in self.kinds.items() if k != "clean" and t.cases}
        kind = min(faults, key=lambda k: (faults[k], k)) if faults else ""
        return kind, faults.get(kind, 0.0)

    def table(self) -> list[str]:
        per = self.seconds / self.judgements if self.judgements else 0.0
        each = usd(Decimal(self.cost) / self.judgements) if self.judgements else Decimal(0)
        lines = [f"judge {self.judge}: {self.judgements} judgements, {per:.2f} s and {fmt_usd(each)} each, "
                 f"{fmt_usd(Decimal(self.cost))} in all",
                 f"{'kind':<13} {'cases':>5}  {'failed':>7}  {'share':>6}  {'cannot judge':>12}"]
        for kind in ("clean", *TRIAL_FAULTS):
            t = self.kinds.get(kind)
            if t is None:
                continue
            what = "false alarms" if kind == "clean" else f"caught ({BREAKS[kind]})"
            lines.append(f"{kind:<13} {t.cases:>5}  {t.failed:>7}  {t.share:>6.1%}  {t.cannot:>12}   {what}")
        kind, share = self.worst
        lines.append(f"faults caught {self.catch:.1%} (worst: {kind} {share:.1%}), clean panels failed "
                     f"{self.false_alarms:.1%}")
        return lines

    def as_json(self) -> str:
        return json.dumps({**asdict(self), "kinds": {k: asdict(t) for k, t in self.kinds.items()}}, indent=1,
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "TrialResult":
        data = json.loads(text)
        data["kinds"] = {k: Tally(**t) for k, t in data.get("kinds", {}).items()}
        return cls(**data)


def kept_path(root: Path, judge: str) -> Path:
    return Path(root) / FOLDER / (re.sub(r"[^A-Za-z0-9._-]+", "_", judge.replace(":", "--")) + ".json")


def kept(root: Path, judge: str) -> TrialResult | None:
    """The figures last measured for `judge` ("provider:model") in this film, if any."""
    path = kept_path(root, judge)
    try:
        return TrialResult.from_json(path.read_text())
    except (OSError, ValueError, TypeError, KeyError):
        return None


def units_of(request: PanelRequest) -> Usage:
    """What one trial verdict is estimated at: the panel gate's units (a panel, the plate, a
    turnaround per character)."""
    tokens_in, tokens_out = panel_gate_tokens(len(request.characters))
    return Usage("judge", input_tokens=tokens_in, output_tokens=tokens_out)


def run_trial(root: Path, judge: str, n: int, cap: Decimal, *, profile: str = "draft",
              say: Callable[[str], None] = print) -> TrialResult:
    """Judge `n` clean panels and `n` faulty ones (spread over TRIAL_FAULTS) with `judge`; each
    verdict through the governor under a run cap of `cap`. Refused before anything is sent when
    the estimate is over the cap (TrialRefused). The result is kept and returned."""
    import uuid

    from slate.governor.ratecard import RateCard
    from slate.manifests import load_film
    from slate.manifests.settings import project_settings
    from slate.providers.registry import build, lineup
    from slate.providers.spec import IMAGE
    from slate.tasks.gates.gate import ask_judge
    from slate.tasks.run.run import open_run, run_of

    root = Path(root)
    film = load_film(root)
    settings = project_settings(root).model_copy(update={"judge": judge, "run_cap_usd": cap, "profile": profile})
    chosen = lineup(settings)
    ref = chosen.judge
    trial = cases(trial_requests(root, profile), range(n), range(n))
    card = RateCard.load(root)
    estimate = usd(sum((card.price(str(ref), units_of(c.request)) for c in trial), Decimal(0)))
    if estimate > cap:
        raise TrialRefused(f"{len(trial)} verdicts of {ref} are estimated at {fmt_usd(estimate)}, over the cap "
                           f"{fmt_usd(cap)}: raise --cap or lower --n (nothing was sent)")
    say(f"judge trial of {ref}: {n} clean panels and {n} faulty ones ({', '.join(TRIAL_FAULTS)}), estimated at "
        f"{fmt_usd(estimate)} within the cap {fmt_usd(cap)}")
    run = run_of(root, "trial", film.film.id, settings, f"judge-trial-{uuid.uuid4().hex[:8]}", chosen=chosen)
    result = TrialResult(str(ref), n, datetime.now(timezone.utc).isoformat(timespec="seconds"))
    with open_run(run) as opened:
        st = opened.crew
        painters: dict[str, ImageGenerator] = {}
        for case in trial:
            local = settings.model_copy(update={"providers": {**settings.providers,
                                                              "local": painter_settings(case.kind)}})
            painter = painters.get(case.kind) or painters.setdefault(case.kind, build(IMAGE, PAINTER, st.storage, local))
            panel_uri = st.storage.put_bytes(painter.generate_panel(case.request), "png")
            spec = CallSpec(context=opened.call_at(f"trial-{case.kind}-{case.number}", "judge_trial", 1, ref.provider,
                                                   ref.model, scene="trial"),
                            units=units_of(case.request),
                            fingerprint=fingerprint({"panel": panel_uri, "request": case.request.fingerprint(),
                                                     "judge": ref.model}),
                            prompt=f"judge trial {case.kind} {case.number}", references=(panel_uri,))
            started = time.monotonic()
            verdict = ask_judge(st, spec, _asker(st, case, panel_uri))
            result.seconds += time.monotonic() - started
            tally = result.kinds.setdefault(case.kind, Tally())
            tally.cases += 1
            if verdict.get("cannot_judge"):
                tally.cannot += 1
            elif not verdict["passed"]:
                tally.failed += 1
        spent = sum((r.actual_cost or Decimal(0) for r in st.governor.ledger.rows(run_id=run.run_id)), Decimal(0))
    result.cost = str(usd(spent))
    path = kept_path(root, str(ref))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.as_json())
    return result


def _asker(st: Crew, case: Case, panel_uri: str) -> Callable[[str], Verdict]:
    from slate.tasks.gates.gate import reference_images

    def ask(call_id: str) -> Verdict:
        return st.judge.judge_panel(st.storage.open_local(panel_uri), case.request, reference_images(st, case.request),
                                    client_ref=call_id)
    return ask


def ladder_share(root: Path, judge: str) -> Decimal:
    """The share of verdicts a ladder's second judge is expected to be asked for: what `judge` (the
    first) failed or could not judge over its trial (half its panels faulty: errs high for a film
    whose takes are mostly good); every verdict when it was never measured."""
    got = kept(root, judge)
    if got is None or not got.judgements:
        return Decimal(1)
    asked = sum(t.failed + t.cannot for t in got.kinds.values())
    return (Decimal(asked) / Decimal(got.judgements)).quantize(Decimal("0.0001"))


def measured_line(root: Path, judge: str) -> str:
    """What `slate check` says of the run's judge: its measured figures, or that it is not measured."""
    got = kept(root, judge)
    if got is None:
        return f"judge {judge}: not measured (slate judge-trial DIR --judge {judge})"
    kind, share = got.worst
    return (f"judge {judge}: measured {got.measured_at[:10]} on {got.judgements} panels — faults caught "
            f"{got.catch:.0%} (worst: {kind} {share:.0%}), clean panels failed {got.false_alarms:.0%}")


def floor_problems(root: Path, judge: str, min_catch: float | None, max_false_alarms: float | None) -> list[str]:
    """Why the run's judge is under the film's floor (`[judge_trial]` in slate.toml), each with the fix."""
    if min_catch is None and max_false_alarms is None:
        return []
    got = kept(root, judge)
    if got is None:
        return [f"judge {judge} has not been measured, and the film asks for a floor: run slate judge-trial "
                f"DIR --judge {judge}"]
    out = []
    if min_catch is not None and got.catch < min_catch:
        kind, share = got.worst
        out.append(f"judge {judge} caught {got.catch:.1%} of the trial's faults (worst: {kind} {share:.1%}), under "
                   f"the film's min_catch {min_catch:.0%}: choose another judge (--judge) or a ladder")
    if max_false_alarms is not None and got.false_alarms > max_false_alarms:
        out.append(f"judge {judge} failed {got.false_alarms:.1%} of the trial's clean panels, over the film's "
                   f"max_false_alarms {max_false_alarms:.0%}: choose another judge (--judge)")
    return out
