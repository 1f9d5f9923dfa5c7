"""The one take loop: a stage's takes after the panel — make, judge, decide — and what each outcome means.

Every stage that makes a shot's picture again after its panel (the clip, the face swap, the
lip-sync, the upscale) runs its takes here, so a failed job means one thing everywhere. A stage
gives the loop two things (`Stage`): how to make take N on a model (a paid call through the
governor, returning the made artifact's URI) and how to judge it (its gate, returning `Judged`).
The loop decides, under the take policy (governor/policy.py: the take cap, takes without
progress, "cannot judge"), and maps what happened to one end:

| what a take met                                   | the loop                                         | ends        |
| ------------------------------------------------- | ------------------------------------------------ | ----------- |
| its gate passed                                   | keeps it                                         | `Approved`  |
| its gate failed                                   | a new take (the next seed) while the policy allows | `Escalated` |
| its gate cannot judge it (cannot_judge = block)   | stops: another take would be judged no better    | `Escalated` |
| the job failed, or came back unusable (`JobEnded`, `JobFailed`, `BadOutput`) | a failed take, as a gate's failure is: retaken while the policy allows | `Escalated` |
| the provider refused the request otherwise (another `ProviderError` that halts nothing) | stops: the same request would be refused again | `Escalated` |
| the job was stuck past its deadline (`JobStuck`)  | the governor cancelled it; a person decides      | `Escalated` |
| refused by moderation (`JobRefused`, `RefusedByModeration`) | the next model of the lineup, where the stage has one (`fallback`) | `Escalated` |
| a cap, the STOP or a refused key (`RunHalted`)    | the run halts; this shot says whose it was       | `Halted`    |
| a call of unknown outcome, a call still busy (`ShotHalted`) | this shot stops for a person              | `Halted`    |
| the amount a person approved would be passed (`before`) | not sent: the shot waits for a person     | `Held` (or `Escalated`, a retake declined) |
| a person circled take N                           | take N is kept, whatever its gate said           | `Approved`  |
| a person called take N NG                         | takes up to N are walked (from the cache), never kept, not counted | — |

The same table is docs/takes.md's. Escalation is a value the loop returns, never an exception
thrown across stages: a shot's other stages, and the other shots, go on.

It must never import Prefect (a stage's `make` and `judge` may call cached tasks; the loop does
not know), never spend except through the stage's `make`, never judge a take itself (the stage's
gate does), and never raise what it can say as an end; an error it does not know (a bug) is
raised, for its traceback.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from slate.governor.chokepoint import Governor, JobEnded, JobRefused, JobStuck, RunHalted, ShotHalted
from slate.governor.policy import TakePolicy, TakeResult
from slate.providers.errors import BadOutput, JobFailed, ProviderError, RefusedByModeration
from slate.tasks.run.run import Run, emit

R = TypeVar("R")

#: What a person's word makes of a take once it is made (tasks/review/circle.py): "keep" (the circled
#: take), "walk" (made again from the cache on the way to the word, never kept), None (the gates decide).
Steer = Literal["keep", "walk"] | None


@dataclass(frozen=True)
class Judged(Generic[R]):
    """A stage's gate on one take: passed, its quality (the take policy's progress measure), the
    reasons a person reads, whether the gate could judge it at all, and the stage's own reading
    (readings, scores, a verdict) carried to the shot's record."""

    passed: bool
    quality: float
    reasons: tuple[str, ...] = ()
    judgeable: bool = True
    reading: R | None = None


@dataclass(frozen=True)
class TakeMade(Generic[R]):
    """One take as the loop saw it: what was made (`uri`, "" when nothing usable came back), on
    which model, and how it was judged (a failed job: not passed, quality -1, its cause)."""

    take: int
    model: str
    uri: str
    judged: Judged[R]
    walked: bool = False


@dataclass(frozen=True)
class Approved(Generic[R]):
    take: int
    uri: str
    reading: R | None = None
    kind: Literal["approved"] = "approved"


@dataclass(frozen=True)
class Escalated:
    why: str
    kind: Literal["escalated"] = "escalated"


@dataclass(frozen=True)
class Halted:
    why: str
    kind: Literal["halted"] = "halted"


@dataclass(frozen=True)
class Held:
    """Not sent: the next take would pass what a person approved, and waits for them."""

    why: str
    kind: Literal["held"] = "held"


End = Approved[R] | Escalated | Halted | Held


@dataclass
class Takes(Generic[R]):
    """What a stage's takes came to: its end and every take made on the way."""

    end: Approved[R] | Escalated | Halted | Held
    takes: list[TakeMade[R]] = field(default_factory=list)


class Stage(Protocol[R]):
    """A stage as the loop runs it: `name` (its paid call's stage in the ledger and on the run),
    `gate` (its gate's), `gate_words` (its gate as a person reads it: "the sync gate"), `make` (take N on a model: the artifact's URI; raises what the governor
    and the provider raise) and `judge` (take N's artifact through its gate)."""

    @property
    def name(self) -> str: ...

    @property
    def gate(self) -> str: ...

    @property
    def gate_words(self) -> str: ...

    def make(self, take: int, model: str) -> str: ...

    def judge(self, take: int, uri: str) -> Judged[R]: ...


#: Said on the run as the loop goes: (stage, take, status, reasons).
Tell = Callable[[str, int, str, list[str]], None]


@contextmanager
def own_steps(governor: Governor, shot: str) -> Iterator[None]:
    """Marks a halt of the run that this shot's own step caused (its call refused by a cap, its
    fallback held for a person) with the shot, so every other shot stopped by it says whose it
    was instead of repeating that shot's reason as its own.

    A provider that refuses the whole run (a key out of credit or refused: an error that `halts`)
    halts the governor and comes up as the provider's error; for the shot it is the halt, as a
    cap's refusal is: the shot ends halted, never escalated as though the shot itself were at fault."""
    before = governor.halted
    try:
        yield
    except RunHalted as exc:
        if before is None and exc.by_shot is None:
            exc.by_shot = shot
        raise
    except Exception as exc:
        halted = governor.halted
        if halted is None or not getattr(exc, "halts", False):
            raise
        if before is None and halted.by_shot is None:
            halted.by_shot = shot
        raise halted from exc


def halted_reason(exc: Exception, shot: str) -> str:
    """Why a shot stopped: its own step's reason, or the run's halt and who caused it."""
    if isinstance(exc, RunHalted) and (by := exc.by_shot) != shot:
        cause = f"shot {by} halted the run" if by else "the run stopped spending"
        return f"stopped before it finished: {cause} ({exc})"
    return str(exc)


def teller(run: Run, shot: str) -> Tell:
    """A `Tell` that says the loop's moves on the run, for `shot`."""
    def tell(stage: str, take: int, status: str, reasons: list[str]) -> None:
        emit(run, scene=run.scene, shot=shot, stage=stage, take=take, status=status, reasons=reasons)
    return tell


def _the(what: str) -> str:
    """`what` with "the" before it, unless it has its own ("the lip-sync", "its 2x upscale")."""
    return what if what.split(" ", 1)[0] in ("the", "its", "a", "an") else f"the {what}"


def _gave_up(what: str, why: str) -> str:
    """The policy's reason to escalate, said of the stage's output: "clip failed the gate in 3
    takes", "lip-sync: the judge cannot judge take 1; …"."""
    return f"{what}: {why}" if why.startswith("the judge") else f"{what} {why}"


def _failed(take: int, model: str, why: str) -> TakeMade[R]:
    return TakeMade(take, model, "", Judged(False, -1.0, (why,)))


def take_loop(stage: Stage[R], policy: TakePolicy, governor: Governor, *, shot: str, models: list[str],
              what: str, tell: Tell,
              before: Callable[[int, str, list[TakeMade[R]]], Held | Escalated | None] | None = None,
              fallback: Callable[[int, int, Exception], int | None] | None = None,
              steer: Callable[[int, Judged[R]], Steer] | None = None,
              retake_words: str = "run again for a new take") -> Takes[R]:
    """Takes of `stage` for `shot` until one ends it (the module's docstring). `models`: the
    lineup's models for the stage, the first first; `what`: how the shot's end names the stage's
    output ("clip", "lip-sync", "upscale"); `before(take, model, takes)`: a reason not to send
    take N (the approved amount); `fallback(current, take, refusal)`: the next model's index after
    a moderation refusal, or None; `steer(take, judged)`: a person's word on take N, once judged."""
    takes: list[TakeMade[R]] = []
    history: list[TakeResult] = []
    current, take = 0, 0
    fell_back = ""   # "after X refused it by moderation, fell back to Y": said in an escalation's reason

    def escalated(why: str) -> Takes[R]:
        return Takes(Escalated(why), takes)

    while True:
        take += 1
        model = models[current]
        try:
            governor.check_open()   # a halted run schedules no further paid take
            if before is not None and (waits := before(take, model, takes)) is not None:
                return Takes(waits, takes)
            with own_steps(governor, shot):
                uri = stage.make(take, model)
        except JobStuck as exc:
            # Cancelled past its deadline (the key's slot free again): a person decides whether
            # to try again or give the model longer; the other shots go on.
            takes.append(_failed(take, model, f"stuck: {exc}"))
            # Said as it happens (issue 56: a stuck lip-sync was cancelled and recorded, and the
            # run's table went on saying "lip-syncing take 1").
            tell(stage.name, take, "stuck", [f"{exc}; cancelled, a person decides"])
            return escalated(f"{what} take {take} stuck: {exc}")
        except (JobRefused, RefusedByModeration) as exc:
            # Refused as asked: never sent again unchanged. The next model of the lineup, if any.
            takes.append(_failed(take, model, f"refused by moderation on {model}: {exc}"))
            tell(stage.name, take, "refused", [f"refused by moderation on {model}: {exc}"])
            try:
                with own_steps(governor, shot):
                    following = fallback(current, take, exc) if fallback is not None else None
            except (RunHalted, ShotHalted) as halt:
                return Takes(Halted(halted_reason(halt, shot)), takes)
            if following is None and fallback is None:
                return escalated(f"{what} refused by moderation on {model}: {exc}; reword what it was asked, "
                                 f"then run again")
            if following is None:
                return escalated(f"{what} refused by moderation on {model}{fell_back}, no fallback left: {exc}; "
                                 f"reword the shot's action, or give the run another fallback model")
            fell_back += f" (after {model} refused it by moderation, fell back to {models[following]})"
            current = following
            continue
        except (JobEnded, JobFailed, BadOutput) as exc:
            # It ran and ended without a usable result (a failed job, no face found, a file that
            # is not what was asked): a failed take, as a gate's failure is.
            cause = f"{_the(what)} from {model} was unusable: {exc}"
            takes.append(_failed(take, model, cause))
            history.append(TakeResult(take, False, -1.0))
            decision, why = policy.decide(history, stage.gate_words)
            if decision == "escalate":
                return escalated(f"{_gave_up(what, why)}{fell_back}; last reasons: {cause}; {retake_words}")
            tell(stage.name, take, "failed", [f"{cause}; take {take + 1} is made"])
            continue
        except (RunHalted, ShotHalted) as exc:
            return Takes(Halted(halted_reason(exc, shot)), takes)
        except ProviderError as exc:
            # Refused as asked for another reason (a request the provider will not take, an answer
            # of unknown outcome the governor could not settle): a person reads the provider's words.
            if exc.halts:
                raise
            takes.append(_failed(take, model, f"refused by {model}: {exc}"))
            tell(stage.name, take, "refused", [f"refused by {model}: {exc}"])
            return escalated(f"{what} was refused by {model}: {exc}; {retake_words}")
        try:
            with own_steps(governor, shot):
                judged = stage.judge(take, uri)
        except (RunHalted, ShotHalted) as exc:
            return Takes(Halted(halted_reason(exc, shot)), takes)
        said = steer(take, judged) if steer is not None else None
        if said == "walk":
            takes.append(TakeMade(take, model, uri, judged, walked=True))
            continue
        takes.append(TakeMade(take, model, uri, judged))
        history.append(TakeResult(take, judged.passed, judged.quality, judged.judgeable))
        decision, why = policy.decide(history, stage.gate_words)
        if said == "keep":
            decision = "accept"
        if decision == "accept":
            return Takes(Approved(take, uri, judged.reading), takes)
        if decision == "escalate":
            return escalated(f"{_gave_up(what, why)}{fell_back}; last reasons: {'; '.join(judged.reasons)}")
