"""The production report tells takes apart (issue 35): a draft's and a final's "start take 1" of one
shot, made by two runs — one a person's, one an agent's — are labelled with their profile and
run; the scene's cut and contact sheet are linked; who spent each amount is said.

The rows are written through the ledger as the governor writes them (reserve, settle, with the
caller), the panels are real PNGs in the film's storage, and the page is the one `slate report`
writes."""
from __future__ import annotations

import io
import re
import uuid
from decimal import Decimal
from html import unescape
from pathlib import Path

from PIL import Image

from slate.governor.ledger import CallRequest, Ledger
from slate.manifests import load_film
from slate.manifests.settings import project_settings
from slate.providers.storage_local import LocalStorage
from slate.tasks.review.production_report import build

DRAFT_RUN, FINAL_RUN = "0d1a2f7e-draft-run", "f1a40c3b-final-run"


def _png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 18), colour).save(buf, format="PNG")
    return buf.getvalue()


def _panel(ledger: Ledger, run_id: str, profile: str, caller: str | None, cost: str, uri: str) -> None:
    request = CallRequest(run_id=run_id, film="night-diner", scene="scene-01", shot="1A", stage="panel", take=1,
                          provider="local", model="local-compositor-v1", profile=profile,
                          fingerprint=uuid.uuid4().hex, prompt="nina at the street corner", reference_hashes=(),
                          parameters={"moment": "start"}, estimate=Decimal(cost), caller=caller)
    reserved = ledger.reserve(cap_scopes=[], request=request)
    ledger.settle(reserved.call_id, actual_cost=Decimal(cost), artifact_uri=uri)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_a_draft_and_a_final_take_of_two_runs_and_two_spenders_are_told_apart(example_film):
    root = example_film
    storage = LocalStorage(root)
    with Ledger.for_project(root) as ledger:
        _panel(ledger, DRAFT_RUN, "draft", None, "0.10", storage.put_bytes(_png((200, 40, 40)), "png"))
        _panel(ledger, FINAL_RUN, "final", "agent:night-shift", "0.35", storage.put_bytes(_png((40, 40, 200)), "png"))
    renders = root / "renders"
    renders.mkdir()
    (renders / "scene-01-draft.mp4").write_bytes(b"the draft cut")
    (renders / "scene-01-draft-contact.png").write_bytes(_png((0, 0, 0)))
    (renders / "scene-01-final.partial-1-of-9.mp4").write_bytes(b"a partial final cut")

    page = build(root, load_film(root), project_settings(root), storage)
    html = page.read_text()
    shot = html.split('data-shot="1A">')[1].split("</section>")[0]
    takes = re.findall(r'<div class="take panel" data-profile="(\w+)" data-run="([^"]+)">\s*<h4>(.*?)</h4>', shot, re.S)
    labels = {profile: _text(h4) for profile, _, h4 in takes}
    assert {(p, r) for p, r, _ in takes} == {("draft", DRAFT_RUN), ("final", FINAL_RUN)}, shot
    assert labels["draft"].startswith("Panel start take 1 — draft, run #1 (0d1a2f7e,"), labels
    assert labels["final"].startswith("Panel start take 1 — final, run #2 (f1a40c3b,"), labels
    assert labels["draft"].endswith("$0.10 by a person") and labels["final"].endswith("$0.35 by agent night-shift")
    alts = re.findall(r'<img class="panel" src="[^"]+" alt="([^"]+)"', shot)
    assert sorted(alts) == ["panel 1A start take 1, draft, run #1", "panel 1A start take 1, final, run #2"]
    assert "spent $0.45 (by a person $0.10, agent night-shift $0.35)" in _text(shot)

    runs = _text(html.split('<table class="runs">')[1].split("</table>")[0])
    assert "#1 0d1a2f7e draft" in runs and "#2 f1a40c3b final" in runs and "by agent night-shift" in runs

    linked = dict((text, href) for href, text in re.findall(r'<a class="(?:cut|sheet)" data-profile="\w+" '
                                                             r'href="([^"]+)">([^<]+)</a>', html))
    assert set(linked) == {"cut (draft)", "contact sheet (draft)", "partial cut 1 of 9 (final)"}, linked
    for text, href in linked.items():
        assert (page.parent / href).resolve() == (renders / Path(href).name).resolve(), (text, href)


def test_a_shots_lines_are_on_its_page_with_who_speaks_them(example_film):
    """Issue 37: each shot's lines of dialogue, as written, with the speaker, their delivery and
    whether the speaker is on camera — the same words the speech stage is given."""
    import yaml
    root = example_film
    bible = yaml.safe_load((root / "bible.yaml").read_text())
    voice = {"description": "a young woman, bright", "provider": "local", "voice": "en+f3"}
    for c in bible["characters"]:
        c["voice"] = dict(voice)
    (root / "bible.yaml").write_text(yaml.safe_dump(bible, sort_keys=False))
    scene = yaml.safe_load((root / "scenes" / "scene-01.yaml").read_text())
    shot = scene["shots"][2]
    off = next(c["id"] for c in bible["characters"] if c["id"] not in shot["characters"])
    shot["dialogue"] = [{"speaker": shot["characters"][0], "text": "Coffee <black>?", "delivery": ["quiet"]},
                        {"speaker": off, "text": "Two sugars.", "at": 1.5}]
    (root / "scenes" / "scene-01.yaml").write_text(yaml.safe_dump(scene, sort_keys=False))

    html = build(root, load_film(root), project_settings(root), LocalStorage(root)).read_text()
    section = html.split(f'id="shot-scene-01-{shot["id"]}"', 1)[1].split("</section>", 1)[0]
    said = _text(section)
    assert f"{shot['characters'][0]} [quiet] : “Coffee <black>?”" in said          # escaped in the page, read back
    assert "&lt;black&gt;" in section
    assert f"{off} (off screen) : “Two sugars.”" in said
    first = html.split('id="shot-scene-01-1A"', 1)[1].split("</section>", 1)[0]
    assert 'class="lines"' not in first                                         # a shot with no lines shows none
