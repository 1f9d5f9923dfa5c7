"""The bible workshop on the example film, offline: a turnaround version through the governor, a
fix that redraws one view only, plates and one edit, versions listed, a promotion that keeps
history and refuses what it must, and bad input refused before anything is paid."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slate.governor.ledger import Ledger
from slate.manifests.turnaround import CELL_W, VIEWS
from tests.bible_steps import lying_then_fixed, slate



def bible_rows(root: Path) -> list:
    return [r for r in Ledger.for_project(root).rows() if r.scene == "bible"]


def cells(path: Path) -> dict[str, np.ndarray]:
    a = np.asarray(Image.open(path).convert("RGBA"))
    return {v: a[:, i * CELL_W:(i + 1) * CELL_W] for i, v in enumerate(VIEWS)}


def record(root: Path, ident: str, n: int, folder: str = "characters") -> dict:
    return json.loads((root / folder / ident / "versions" / str(n) / "version.json").read_text())


def test_a_lying_three_quarter_view_is_fixed_alone_and_the_fix_is_promoted(example_film, local_calls, monkeypatch):
    root = example_film
    # The local painter's fault mode draws this sheet with its three-quarter view off-model.
    monkeypatch.setenv("SLATE_LOCAL_FAULT_RATE", "1")
    monkeypatch.setenv("SLATE_LOCAL_FAULT_KINDS", "recolour")
    out = slate("bible", "turnaround", root, "mia")
    assert "character:mia v1" in out and "reference gate FAILED" in out, out
    v1 = record(root, "mia", 1)
    assert v1["gate"]["passed"] is False and v1["parent"] is None and v1["model"] == "local-compositor-v1"
    assert "Purple hoodie" in v1["prompt"]
    rows = bible_rows(root)
    assert [(r.stage, r.shot, r.status) for r in rows] == [("reference", "character:mia", "succeeded")]

    # a failed version is never promoted, and nothing canonical changes
    canonical = root / "characters/mia/mia_turnaround_APPROVED.png"
    before = canonical.read_bytes()
    out = slate("bible", "approve", root, "mia", "--version", "1", code=1)
    assert "character 'mia': --version 1: failed its reference gate" in out and canonical.read_bytes() == before

    monkeypatch.setenv("SLATE_LOCAL_FAULT_RATE", "0")
    out = slate("bible", "turnaround", root, "mia", "--fix", "three_quarter", "--from", "1")
    assert "v2 from v1 (fix three_quarter)" in out and "reference gate passed" in out, out
    v2 = record(root, "mia", 2)
    assert (v2["parent"], v2["view"], v2["gate"]["passed"]) == (1, "three_quarter", True)
    old, new = cells(root / v1["key"]), cells(root / v2["key"])
    for view in ("front", "side", "back"):
        assert np.array_equal(old[view], new[view]), f"the {view} view changed"
    assert np.abs(old["three_quarter"].astype(int) - new["three_quarter"].astype(int)).mean() > 5
    assert len(bible_rows(root)) == 2 and bible_rows(root)[1].reference_hashes  # the parent went with it

    out = slate("bible", "versions", root, "mia")
    assert "v1  parent -" in out and "gate failed" in out and "v2  parent 1" in out and "gate passed" in out

    out = slate("bible", "approve", root, "mia", "--version", "2", "--by", "ana")
    assert "shots that use it: scene-01/1G, scene-01/1I" in out, out
    assert "promoted character:mia v2" in out
    assert hashlib.sha256(canonical.read_bytes()).hexdigest() == v2["sha256"]
    history = list((root / "characters/mia/history").iterdir())
    assert len(history) == 1 and history[0].read_bytes() == before
    decision = Ledger.for_project(root).approvals(stage="bible_approve")
    assert len(decision) == 1 and decision[0].parameters["by"] == "ana" and decision[0].parameters["version"] == 2
    assert decision[0].by == "ana" and decision[0].parameters["replaced"] == hashlib.sha256(before).hexdigest()
    assert "* canonical" in slate("bible", "versions", root, "mia").splitlines()[-1]

    # someone promoted since this person looked: their stale view of the canonical is refused
    out = slate("bible", "approve", root, "mia", "--version", "2", "--expect",
                hashlib.sha256(before).hexdigest(), code=1)
    assert "character 'mia': characters[3].turnaround:" in out and "changed since it was read" in out
    assert len(Ledger.for_project(root).approvals(stage="bible_approve")) == 1


def test_a_plate_and_one_removal_edit(example_film, local_calls):
    root = example_film
    slate("bible", "plate", root, "diner")
    out = slate("bible", "plate", root, "diner", "--edit", "remove the dark green booths", "--from", "1")
    assert "edit: remove the dark green booths" in out and "reference gate passed" in out, out
    v1, v2 = record(root, "diner", 1, "locations"), record(root, "diner", 2, "locations")
    a = np.asarray(Image.open(root / v1["key"]).convert("RGB")).astype(int)
    b = np.asarray(Image.open(root / v2["key"]).convert("RGB")).astype(int)
    changed = np.abs(a - b).max(axis=-1) > 0
    assert 0.01 < changed.mean() < 0.2   # the booths went; the rest of the room stayed
    assert [r.stage for r in bible_rows(root)] == ["reference", "reference"]


@pytest.mark.parametrize("args, said", [
    (["turnaround", "{root}", "zed"], "bible.yaml: no character or location 'character:zed'"),
    (["turnaround", "{root}", "mia", "--fix", "elbow", "--from", "1"], "character 'mia': --fix: no view 'elbow'"),
    (["turnaround", "{root}", "mia", "--fix", "side", "--from", "7"], "character 'mia': --from: no version 7"),
    (["turnaround", "{root}", "mia", "--fix", "side"], "character 'mia': --fix side: give the version"),
    (["plate", "{root}", "diner", "--edit", "  ", "--from", "1"], "location 'diner': --edit: the edit has no instruction"),
    (["plate", "{root}", "mia"], "no character or location 'location:mia'"),
    (["approve", "{root}", "leo", "--version", "3"], "character 'leo': --version: no version 3"),
])
def test_bad_input_names_the_asset_and_field_and_pays_nothing(example_film, local_calls, args, said):
    out = slate("bible", *[a.format(root=example_film) for a in args], code=2)
    assert said in out, out
    assert bible_rows(example_film) == []
    assert not list(example_film.glob("*/*/versions"))


def test_the_local_painter_redraws_only_the_view_it_fixes(example_film):
    """The provider itself keeps the other views (slate also pastes only that view's cell, for any model)."""
    from slate.providers.base import ReferenceRequest
    from slate.providers.local import LocalImage
    from slate.providers.storage_local import LocalStorage
    store = LocalStorage(example_film)
    sheet = (example_film / "characters/gabe/gabe_turnaround_APPROVED.png").read_bytes()
    parent = store.put_bytes(sheet, "png")
    for view in VIEWS:
        png = LocalImage(store).generate_reference(ReferenceRequest(
            kind="character", ident="gabe", description="Gabe", prompt="fix", width=768, height=384, seed=2,
            parent_uri=parent, view=view))
        out = store.put_bytes(png, "png")
        old, new = cells(store.open_local(parent)), cells(store.open_local(out))
        assert [v for v in VIEWS if not np.array_equal(old[v], new[v])] == [view]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    from tests.s3_server import S3Server
    server = S3Server.start(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server
    finally:
        server.stop()


def test_versions_and_a_promotion_live_in_the_bucket(s3, example_film, local_calls, monkeypatch):
    from slate.providers.registry import storage_for
    from slate.providers.storage import push_film
    root, bucket = example_film, s3.bucket()
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    (root / "slate.toml").write_text(f'[storage]\nbackend = "s3"\nbucket = "{bucket}"\nprefix = "studio"\n')
    push_film(root, storage_for(root))
    old = (root / "characters/mia/mia_turnaround_APPROVED.png").read_bytes()
    import shutil
    shutil.rmtree(root / "characters")          # the bucket is the film's storage now, not this folder
    lying_then_fixed(root, "mia", monkeypatch)
    out = slate("bible", "approve", root, "mia", "--version", "2", "--by", "ana")
    assert "promoted character:mia v2" in out, out
    film = "studio/films/night-diner/characters/mia/"
    keys = s3.keys(bucket, film)
    assert {f"{film}versions/1/mia_turnaround_v1.png", f"{film}versions/2/version.json",
            f"{film}history/001-{hashlib.sha256(old).hexdigest()[:12]}.png"} <= set(keys), keys
    assert not (root / "characters").exists()   # nothing written beside the project instead
    body = s3.client().get_object(Bucket=bucket, Key=f"{film}mia_turnaround_APPROVED.png")["Body"].read()
    v2 = json.loads(s3.client().get_object(Bucket=bucket, Key=f"{film}versions/2/version.json")["Body"].read())
    assert hashlib.sha256(body).hexdigest() == v2["sha256"] and v2["gate"]["passed"]
    history = s3.client().get_object(Bucket=bucket, Key=f"{film}history/001-{hashlib.sha256(old).hexdigest()[:12]}.png")
    assert history["Body"].read() == old


def test_coverage_names_missing_unused_and_uncovered_references(example_film):
    import shutil
    from slate.manifests import load_film
    from slate.providers.storage_local import LocalStorage
    from slate.tasks.workshop.coverage import coverage
    root = example_film
    (root / "characters/zoe").mkdir()
    shutil.copy(root / "characters/mia/mia_turnaround_APPROVED.png", root / "characters/zoe/zoe_turnaround_APPROVED.png")
    out = slate("check", root)
    assert "coverage: characters/zoe/zoe_turnaround_APPROVED.png: an approved character reference no shot uses" in out
    (root / "characters/nina/nina_turnaround_APPROVED.png").unlink()
    lines = coverage(LocalStorage(root), load_film(root))
    assert "bible.yaml: characters[4].turnaround: characters/nina/nina_turnaround_APPROVED.png is named but not " \
           "in storage" in lines
    uncovered = [line for line in lines if "no approved reference for character nina" in line]
    assert [line.split(": ")[1] for line in uncovered] == ["shot 1A", "shot 1B", "shot 1G", "shot 1I"], lines


def test_the_registrys_panel_models_make_and_fix_versions_against_the_fakes(fakes, example_film):
    """Gemini image draws a version from the words; FLUX Kontext on Replicate fixes one view of it as a
    job the governor follows: each a ledger row priced by the rate card, each request landed on the fake."""
    root = example_film
    out = slate("bible", "turnaround", root, "mia", "--model", "gemini:gemini-2.5-flash-image")
    assert "character:mia v1: gemini:gemini-2.5-flash-image" in out, out
    asked = [r for r in fakes.requests("gemini") if r["method"] == "POST" and r["path"].endswith(":generateContent")]
    assert len(asked) == 1
    out = slate("bible", "turnaround", root, "mia", "--fix", "side", "--from", "1", "--model",
                "replicate:black-forest-labs/flux-kontext-pro")
    assert "v2 from v1 (fix side): replicate:black-forest-labs/flux-kontext-pro" in out, out
    assert len([j for j in fakes.jobs("replicate") if j["op"] == "submit"]) == 1
    rows = bible_rows(root)
    assert [(r.provider, r.status) for r in rows] == [("gemini", "succeeded"), ("replicate", "succeeded")]
    assert rows[1].job_id and all(r.actual_cost > 0 for r in rows)      # a job followed, both paid
    v1, v2 = record(root, "mia", 1), record(root, "mia", 2)
    assert v1["cost_usd"] != "0.00" and v2["parent"] == 1
    a = np.asarray(Image.open(root / v1["key"]).convert("RGBA"))
    b = np.asarray(Image.open(root / v2["key"]).convert("RGBA"))
    side = VIEWS.index("side")
    keep = np.ones(a.shape[1], bool)
    keep[round(side * a.shape[1] / 4):round((side + 1) * a.shape[1] / 4)] = False
    assert a.shape == b.shape and np.array_equal(a[:, keep], b[:, keep])   # only the side view's cell moved
    assert not np.array_equal(a[:, ~keep], b[:, ~keep])


def test_two_promotions_racing_from_one_canonical_one_wins(example_film, local_calls):
    """Two people approve different versions at the same moment: one wins, the other is refused
    naming the asset and field, and the canonical is the winner's (whatever the interleaving)."""
    import threading
    from slate.manifests import load_film
    from slate.providers.storage_local import LocalStorage
    from slate.tasks.workshop.bible import BibleError, asset_of, key_sha256, promote
    root = example_film
    slate("bible", "plate", root, "street")
    slate("bible", "plate", root, "street")
    film, storage = load_film(root), LocalStorage(root)
    asset = asset_of(film, "street")
    seen = key_sha256(storage, asset.canonical)
    go, results = threading.Barrier(2), {}

    def approve(n: int) -> None:
        go.wait()
        try:
            results[n] = promote(root, film, asset, n, by=f"person{n}", storage=storage,
                                 ledger=Ledger.for_project(root), expect_sha256=seen)
        except BibleError as exc:
            results[n] = exc
    threads = [threading.Thread(target=approve, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    won = [n for n, r in results.items() if isinstance(r, dict)]
    lost = [r for r in results.values() if isinstance(r, BibleError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert str(lost[0]).startswith("location 'street': locations[1].plate:"), lost[0]
    assert key_sha256(storage, asset.canonical) == record(root, "street", won[0], "locations")["sha256"]
    assert len(Ledger.for_project(root).approvals(stage="bible_approve")) == 1


def test_an_edit_that_returns_its_parent_fails_its_gate_and_cannot_be_approved(example_film, local_calls):
    """The local painter cannot remove what the plate does not have: its version is its parent, bit for
    bit — paid for (a ledger row), recorded, but failed "the edit changed nothing" and never promoted."""
    root = example_film
    slate("bible", "plate", root, "diner")
    out = slate("bible", "plate", root, "diner", "--edit", "remove the jukebox", "--from", "1")
    assert "reference gate FAILED" in out and "the edit changed nothing" in out, out
    v1, v2 = record(root, "diner", 1, "locations"), record(root, "diner", 2, "locations")
    assert v2["sha256"] == v1["sha256"] and v2["parent"] == 1
    assert v2["gate"]["passed"] is False
    assert [s["name"] for s in v2["gate"]["scores"] if not s["passed"]] == ["edit_changed"]
    assert v2["gate"]["failing"][0].startswith("edit_changed 0.00 < 0.01: the edit changed nothing: 0.00% of the "
                                               "picture differs from version 1"), v2["gate"]["failing"]
    assert [(r.stage, r.status) for r in bible_rows(root)] == [("reference", "succeeded")] * 2
    canonical = root / "locations/diner/diner_plate_APPROVED.png"
    before = canonical.read_bytes()
    out = slate("bible", "approve", root, "diner", "--version", "2", code=1)
    assert "location 'diner': --version 2: failed its reference gate (edit_changed" in out, out
    assert canonical.read_bytes() == before
    assert Ledger.for_project(root).approvals(stage="bible_approve") == []

    # what the plate has is removed, and only there: the judge finds the lamps where the painter drew them
    out = slate("bible", "plate", root, "diner", "--edit", "remove the pendant lamps", "--from", "1")
    assert "reference gate passed" in out, out
    scores = {s["name"]: s for s in record(root, "diner", 3, "locations")["gate"]["scores"]}
    assert scores["edit_changed"]["passed"] and scores["edit_in_place"]["value"] == 1.0
    assert "is where the warm pendant lamps hanging from the ceiling is" in scores["edit_in_place"]["reason"]


def test_gabes_flat_top_is_hair_and_his_sheet_is_held_to_his_green_shirt(example_film, local_calls):
    """The local painter draws Gabe from his words ("red hair cut in a flat-top", "green plaid flannel
    shirt"), and the local judge holds the sheet's outfit to the colours those words name."""
    root = example_film
    out = slate("bible", "turnaround", root, "gabe")
    assert "reference gate passed" in out, out
    named = [s for s in record(root, "gabe", 1)["gate"]["scores"] if s["name"] == "outfit_named"]
    assert [s["passed"] for s in named] == [True, True], named
    assert "the outfit's top is drawn rgb(46, 112, 58)" in named[0]["reason"] and "the green the" in named[0]["reason"]
