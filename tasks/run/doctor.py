"""`slate doctor`: can this film's run spend, with these providers, right now?

For each provider the lineup uses (panels, every video model including fallbacks, the judge, and
the speech models the film's voices speak with — `slate doctor` names them, film_voices):
its key present (the variable named when missing), valid, and its remaining credit where the
API tells it — from the checks its module declares (`PROVIDER.doctor`, found through the
registry), which make only calls that cost nothing — then every model of the lineup priced on the rate card, and the video slots each
provider key gets. OpenRouter tells how much of a key's limit is left: a run whose estimate is
above it is refused before it spends, with both figures.

`slate doctor` (slate/commands/project.py) runs them for a run's plan (tasks/run/run_plan.py: its lineup
and its estimate, speech and passes in it); the scene flow runs the same before its first paid call.
It must never make a paid call, or show a key (only its short id).
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Callable

from slate.governor.money import fmt_usd
from slate.governor.ratecard import RateCard, RateError
from slate.manifests import LoadedFilm
from slate.manifests.schema import Bible
from slate.providers.base import DoctorFinding, Storage
from slate.providers.keys import MissingKey, provider_key
from slate.providers.registry import (Lineup, ModelRef, UnknownProvider, base_url_for, provider, resolve, speech_model,
                                     storage_for)
from slate.tasks.run.slots import slot_name


def film_voices(bible: Bible, profile: str) -> tuple[ModelRef, ...]:
    """The speech models the bible's voices speak with at `profile`, each once, in the bible's
    order. A voice whose provider offers no speech is left to `slate check`, which names it."""
    out: list[ModelRef] = []
    for v in bible.voices().values():
        if v is None:
            continue
        try:
            ref = speech_model(v.provider, v.model, profile)
        except (UnknownProvider, ValueError):
            continue
        if ref not in out:
            out.append(ref)
    return tuple(out)


def film_music(film: LoadedFilm, scenes: Iterable[str]) -> tuple[ModelRef, ...]:
    """The music models the scenes' cues made to a brief are made with (issue 59), each once. A
    model no provider offers is left to `slate check`, which names the brief's field."""
    from slate.tasks.run.run_plan import music_models
    out: list[ModelRef] = []
    for model in music_models(film, list(scenes)):
        try:
            out.append(resolve(model, "music", "draft"))
        except (UnknownProvider, ValueError):
            continue
    return tuple(out)


def check_lineup(root: Path | str, chosen: Lineup, urls: dict[str, str], video_slots: int, *,
                 estimate: Decimal | None = None, voices: tuple[ModelRef, ...] = (),
                 storage: Storage | None = None, music: tuple[ModelRef, ...] = ()) -> list[DoctorFinding]:
    """`voices`: the speech models lines are spoken with (each voice's provider and model), and
    `music`: the models the cues made to a brief are made with: their providers are checked and
    their models priced like the lineup's. A provider that runs files
    the film keeps (ComfyUI's workflows) holds them to its server too, read from `storage` (the
    film's store; its folder when not given)."""
    findings: list[DoctorFinding] = []
    for name in sorted({*chosen.providers(), *(v.provider for v in voices), *(m.provider for m in music)}):
        try:
            spec = provider(name)
        except UnknownProvider:
            findings.append(DoctorFinding(name, "module", False, f"no provider module for {name} in this slate"))
            continue
        if spec.doctor is None:
            findings.append(DoctorFinding(name, "checks", True, "its module declares no checks", blocking=False))
            continue
        url = base_url_for(name, urls)
        findings += spec.doctor(base_url=url)
        models = chosen.models_of(name)
        if spec.film_doctor is not None and models:
            findings += spec.film_doctor(base_url=url, storage=storage or storage_for(Path(root)), models=models)
        if estimate is not None and spec.key_limit is not None:
            findings += _limit(name, spec.key_limit, url, estimate)
    card = RateCard.load(Path(root))
    for kind, ref in [("image", chosen.panel), *(("video", v) for v in chosen.videos), ("judge", chosen.judge),
                      *((("judge", chosen.second_judge),) if chosen.second_judge is not None else ()),
                      *(("speech", v) for v in voices), *(("music", m) for m in music)]:
        try:
            rate = card.rate(str(ref), kind)
            findings.append(DoctorFinding(ref.provider, "models", True, f"{kind} model {ref} is priced "
                                    f"({rate.source}; confidence {rate.confidence})", blocking=False))
        except RateError as exc:
            findings.append(DoctorFinding(ref.provider, "models", False, str(exc)))
    for name in sorted({v.provider for v in chosen.videos}):
        try:
            key_id = provider_key(name).id if provider(name).key_vars else "local"
        except (MissingKey, UnknownProvider):
            continue  # already said above
        findings.append(DoctorFinding(name, "slots", True, f"{video_slots} video job(s) at a time on key "
                                f"{key_id} (concurrency limit {slot_name(name, key_id)})", blocking=False))
    return findings


def _limit(provider: str, key_limit: Callable[..., Decimal | None], base_url: str | None,
           estimate: Decimal) -> list[DoctorFinding]:
    try:
        left = key_limit(base_url=base_url)
    except Exception as exc:  # noqa: BLE001 — the key line above already says what is wrong
        return [DoctorFinding(provider, "estimate", False, f"could not read the key's limit: {exc}", blocking=False)]
    if left is None:
        return [DoctorFinding(provider, "estimate", True, f"this run is estimated at {fmt_usd(estimate)}; the key has no "
                        f"spending limit", blocking=False)]
    if left < estimate:
        return [DoctorFinding(provider, "estimate", False, f"the key has {fmt_usd(left)} left of its limit and this run is "
                        f"estimated at {fmt_usd(estimate)}: raise the key's limit, or run fewer shots")]
    return [DoctorFinding(provider, "estimate", True, f"this run is estimated at {fmt_usd(estimate)}, within the "
                    f"{fmt_usd(left)} the key has left", blocking=False)]


def blocking(findings: list[DoctorFinding]) -> list[DoctorFinding]:
    return [f for f in findings if not f.ok and f.blocking]


def line(f: DoctorFinding) -> str:
    return f"{'ok ' if f.ok else ('FAIL' if f.blocking else 'warn')}  {f.provider:<10} {f.check:<9} {f.text}"
