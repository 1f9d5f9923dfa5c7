"""Caps on real runs: a rehearsal priced as Kling halts before its cap, resumes when it is raised,
a zero cap is zero, and a film run's cap holds across all its scenes.

The example film runs on the local provider priced as Kling v2.5 turbo pro on Replicate (flat
per second, billed in 5 s blocks). Every expected amount below is computed from the rate card
and the manifests, and every spent amount is read from the ledger's rows.
"""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
import yaml

from slate.manifests.options import RunOptions
from slate.flows.scene import scene_flow
from slate.flows.run.scene_result import scene_result
from slate.governor.budget import SlateBudget
from slate.governor.chokepoint import Usage
from slate.governor.ledger import Ledger
from slate.governor.money import fmt_usd
from slate.governor.ratecard import RateCard
from slate.manifests import load_film
from slate.providers.local import LocalVideo
from slate.providers.storage_local import LocalStorage
from tests.scene_cuts import fit_music, keep_shots, without_finishing

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_calls")]
KLING = "replicate:kwaivgi/kling-v2.5-turbo-pro"
FILM = "night-diner"


def clip_prices(root, scene="scene-01") -> dict[str, Decimal]:
    """What each shot's clip costs at 480p according to the rate card."""
    card = RateCard.load(root)
    return {s.id: card.price(KLING, Usage("video", seconds=s.duration, resolution="480p"))
            for s in load_film(root).scene(scene).shots}


def spent(ledger) -> Decimal:
    return ledger.totals(film=FILM).committed


def test_a_capped_rehearsal_halts_before_the_cap_and_resumes_when_raised(example_film, prefect_harness):
    # 1A and 1C: a first clip that fits and a second that does not; no finishing (money is the subject).
    from typer.testing import CliRunner

    from slate.cli import app
    without_finishing(example_film)
    keep_shots(example_film, ("1A", "1C"))
    prices = clip_prices(example_film)
    first_clip = prices["1A"]
    cap = first_clip + first_clip / 2  # room for one clip, not two
    estimate = CliRunner().invoke(app, ["estimate", str(example_film), "--price-as", KLING, "--cap", str(cap)])
    expected = Decimal(re.search(r"expected total: \$([\d.,]+)", estimate.output).group(1).replace(",", ""))
    assert expected >= sum(prices.values()) and "does NOT fit" in estimate.output, estimate.output

    state = scene_flow(project=str(example_film), options=RunOptions(price_as=KLING, run_cap_usd=cap), return_state=True)
    halted = scene_result(state)
    ledger = Ledger.for_project(example_film)
    videos = [r for r in ledger.rows(film=FILM) if r.stage == "video"]
    print(f"\nbudget halt: estimate {fmt_usd(expected)} expected; cap {fmt_usd(cap)}; spent {fmt_usd(spent(ledger))} "
          f"in {len(videos)} video rows ({', '.join(r.status for r in videos)}); {state.name}: {state.message}")
    assert state.name == "Halted" and state.is_failed()
    assert [r.status for r in videos] == ["succeeded", "refused"]
    assert videos[0].actual_cost == first_clip
    assert spent(ledger) == first_clip and spent(ledger) <= cap
    assert state.message == (f"per-run cap {fmt_usd(cap)} would be exceeded (spent {fmt_usd(first_clip)}, "
                             f"reserved $0.00, next call {fmt_usd(videos[1].estimate)}): halted")
    assert halted.halted == state.message
    assert [s.status for s in halted.shots].count("approved") <= 1
    # a scene that did not finish publishes no file under the finished scene's name
    assert not (example_film / "renders" / "scene-01-draft.mp4").exists()
    assert halted.output is None or ".partial-" in halted.output
    assert len(LocalVideo(LocalStorage(example_film)).submissions()) == 1

    resumed = scene_flow(project=str(example_film), options=RunOptions(price_as=KLING, run_cap_usd=Decimal("50")), return_state=True)
    result = resumed.result()
    assert resumed.name == "Completed"
    assert [s.status for s in result.shots] == ["approved"] * len(prices)
    assert spent(ledger) == sum(prices.values())  # = a clean run's spend
    assert Decimal(result.spent_usd) == sum(prices.values()) - first_clip  # the first clip was not paid twice
    fingerprints = [s["fingerprint"] for s in LocalVideo(LocalStorage(example_film)).submissions()]
    assert len(fingerprints) == len(set(fingerprints)) == len(prices)


def test_a_zero_cap_is_zero_not_unset(example_film, prefect_harness):
    # 1A and 1C: the first clip is refused, whatever follows it; no finishing.
    from typer.testing import CliRunner

    from slate.cli import app
    without_finishing(example_film)
    keep_shots(example_film, ("1A", "1C"))
    estimate = CliRunner().invoke(app, ["estimate", str(example_film), "--price-as", KLING, "--cap", "0"])
    assert "does NOT fit the per-run cap $0.00" in estimate.output, estimate.output
    state = scene_flow(project=str(example_film), options=RunOptions(price_as=KLING, run_cap_usd=Decimal("0")), return_state=True)
    ledger = Ledger.for_project(example_film)
    assert state.name == "Halted" and state.message.startswith("per-run cap $0.00 would be exceeded")
    assert [r.status for r in ledger.rows(film=FILM) if r.stage == "video"] == ["refused"]
    assert spent(ledger) == 0 and LocalVideo(LocalStorage(example_film)).submissions() == []


def _two_scenes_of_two_shots(root) -> None:
    without_finishing(root)  # the cap across scenes is the subject, not the finished cut
    path = root / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["shots"] = doc["shots"][:2]
    fit_music(doc)
    doc["shots"][-1]["transition_out"] = {"kind": "cut", "duration": 0}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    doc["id"], doc["title"] = "scene-02", "The same two shots again"
    for shot in doc["shots"]:
        shot["seed"] = 7  # other takes: nothing cached from scene-01
    (root / "scenes" / "scene-02.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    film = yaml.safe_load((root / "film.yaml").read_text())
    film["scenes"] = ["scenes/scene-01.yaml", "scenes/scene-02.yaml"]
    (root / "film.yaml").write_text(yaml.safe_dump(film, sort_keys=False))


def test_a_film_runs_cap_holds_across_its_scenes(example_film, prefect_harness):
    """The run cap is the film run's, not each scene's: scene-02 may not spend what scene-01 left."""
    from slate.flows.film import film_flow
    _two_scenes_of_two_shots(example_film)
    prices = clip_prices(example_film)
    per_scene = sum(prices.values())
    cap = per_scene + min(prices.values()) / 2  # scene-01 fits; not one clip of scene-02 does
    state = film_flow(project=str(example_film), options=RunOptions(price_as=KLING, run_cap_usd=cap), return_state=True)
    ledger = Ledger.for_project(example_film)
    rows = ledger.rows(film=FILM)
    videos = [(r.scene, r.status) for r in rows if r.stage == "video"]
    print(f"\nfilm run cap {fmt_usd(cap)}: spent {fmt_usd(spent(ledger))}; video rows {videos}; {state.name}")
    assert state.name == "Halted" and state.message.startswith(f"per-run cap {fmt_usd(cap)}")
    # The scenes run at once and race for one cap: whichever clips were admitted, what was
    # spent stays under it, and each refusal was a clip that would have passed it.
    paid = [r for r in rows if r.stage == "video" and r.status == "succeeded"]
    refused = [r for r in rows if r.stage == "video" and r.status == "refused"]
    assert spent(ledger) == sum(r.actual_cost for r in paid) <= cap
    assert refused and all(spent(ledger) + r.estimate > cap for r in refused), videos
    assert len(paid) == 2, videos  # two clips fit under the cap, whichever scenes they belong to
    assert len({r.run_id for r in rows}) == 1  # every scene's call carries the film run's id


def test_the_budget_block_is_where_caps_live(example_film, prefect_harness):
    """The run's caps come from the film's slate-budget block (editable on the Blocks page)."""
    without_finishing(example_film)  # one shot, as before; the block's caps are the subject
    scene_doc = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(scene_doc.read_text())
    doc["shots"] = doc["shots"][:1]
    fit_music(doc)
    scene_doc.write_text(yaml.safe_dump(doc, sort_keys=False))
    block = None
    try:
        # Creates the block from the film's settings — never from this run's own --cap.
        scene_flow(project=str(example_film), options=RunOptions(run_cap_usd=Decimal("0.50")), return_state=True)
        block = SlateBudget.load(FILM)
        assert (block.run_cap_usd, block.film_cap_usd, block.max_takes) == (Decimal("25"), Decimal("250"), 3)
        block.film_cap_usd = Decimal("0.20")  # what an edit on the Blocks page does
        block.save(FILM, overwrite=True)
        doc["shots"][0]["seed"] = 99  # a new take: not cached
        scene_doc.write_text(yaml.safe_dump(doc, sort_keys=False))
        state = scene_flow(project=str(example_film), options=RunOptions(price_as=KLING), return_state=True)
        assert state.name == "Halted"
        assert state.message.startswith("per-film cap $0.20 would be exceeded")
        assert [r.status for r in Ledger.for_project(example_film).rows(film=FILM) if r.stage == "video"] == \
            ["succeeded", "refused"]  # the first run's clip was free (local); the second priced as Kling
    finally:
        if block is not None:
            block.film_cap_usd = Decimal("250")
            block.save(FILM, overwrite=True)


def test_scenes_starting_together_on_a_new_server_share_one_budget_block(prefect_harness):
    """The scenes of a film ask for its budget block at the same moment. On a server that has
    never held one, two saves at once both failed while the block's type was being registered,
    and a scene that then read the block found none: the film stopped at its start ("Unable to
    find block document"). Eight at once, on a server without the type: one block is made, and
    every scene reads the same caps."""
    import threading
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    from slate.governor.budget import block_name, load_or_create

    with get_client(sync_client=True) as client:
        try:
            client.delete_block_type(client.read_block_type_by_slug("slate-budget").id)
        except ObjectNotFound:
            pass
    film = f"film-{uuid.uuid4().hex[:8]}"
    defaults = SlateBudget(run_cap_usd=Decimal("7.25"), film_cap_usd=Decimal("70"))
    start, got, errors = threading.Barrier(8), [], []

    def scene():
        start.wait()
        try:
            got.append(load_or_create(film, defaults))
        except Exception as exc:  # noqa: BLE001 — counted below
            errors.append(repr(exc))

    threads = [threading.Thread(target=scene) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and len(got) == 8, errors
    assert sum(created for _, created in got) == 1
    assert {(b.run_cap_usd, b.film_cap_usd) for b, _ in got} == {(Decimal("7.25"), Decimal("70"))}
    assert SlateBudget.load(block_name(film)).run_cap_usd == Decimal("7.25")
