"""A promotion on the example film, end to end, offline: the next `slate run` re-makes exactly the
shots that use the promoted character, paying for nothing else; then `slate report` writes a page
that Debian's chromium renders with every shot's panel and a collapsible prompt (screenshots kept
in the test's folder, their paths printed)."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from slate.governor.ledger import Ledger
from tests.bible_steps import lying_then_fixed, slate
from tests.scene_cuts import keep_shots, without_finishing

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.e2e



def paid_rows(root: Path, run_ids: set[str] | None = None) -> list:
    rows = [r for r in Ledger.for_project(root).rows() if r.scene != "bible" and r.status != "released"]
    return [r for r in rows if run_ids is None or r.run_id in run_ids]


@pytest.mark.usefixtures("local_calls", "prefect_harness")
def test_a_promotion_remakes_only_its_shots_and_the_report_shows_every_shot(example_film, tmp_path, monkeypatch):
    root = example_film
    keep_shots(root, ("1C", "1G"))           # 1C: gabe and jenny; 1G: nina and mia
    without_finishing(root)
    slate("run", root)
    first = paid_rows(root)
    assert {r.shot for r in first} == {"1C", "1G"}

    lying_then_fixed(root, "mia", monkeypatch)
    out = slate("bible", "approve", root, "mia", "--version", "2", "--by", "ana")
    assert "shots that use it: scene-01/1G" in out and "1C" not in out.split("promoted")[0], out
    assert "made from the current characters/mia/mia_turnaround_APPROVED.png: scene-01/1G (panel)" in out
    assert paid_rows(root) == first          # nothing is re-made until the next run

    slate("run", root)
    again = [r for r in paid_rows(root) if r.id not in {f.id for f in first}]
    stages = Counter((r.shot, r.stage) for r in again)
    assert {shot for shot, _ in stages} == {"1G"}, stages   # 1C was not paid for again
    assert stages[("1G", "panel")] >= 1 and stages[("1G", "video")] >= 1, stages

    # the film run published the report as a link artifact (the page written beside the film)
    page = root / "renders" / "report" / "index.html"
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    with get_client(sync_client=True) as client:
        links = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["night-diner-draft-report"])))
    # Prefect keeps a link as markdown "[text](uri)"; the key's other versions are other tests' films
    # on this worker's server (any test whose film runs writes one).
    assert any(page.as_uri() in str(a.data) for a in links), links
    page.unlink()
    assert "report: " in slate("report", root)
    html = page.read_text()
    assert html.count('class="shot"') == 2 and "<details class=\"prompt\">" in html
    # Takes told apart (issue 35): 1G was made by both runs, each take labelled with its profile and run;
    # the scene's cut and contact sheet linked; who spent said.
    g = html.split('data-shot="1G">')[1].split("</section>")[0]
    made_by = set(re.findall(r'<div class="take panel" data-profile="draft" data-run="([^"]+)"', g))
    assert made_by == {r.run_id for r in first} | {r.run_id for r in again}, made_by
    assert len(set(re.findall(r"— draft, <a href=\"#run-\d+\">run #(\d+)</a> \(", g))) == 2, g
    for href in ("../scene-01-draft.mp4", "../scene-01-draft-contact.png"):
        assert f'href="{href}"' in html and (page.parent / href).is_file(), href
    assert "by a person" in html
    if not CHROMIUM.is_file():
        pytest.fail(f"chromium is not installed at {CHROMIUM} (make chromium)")
    from playwright.sync_api import expect, sync_playwright
    shots_dir = tmp_path / "screenshots"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            p = browser.new_page(viewport={"width": 1300, "height": 900})
            p.goto(page.as_uri())
            for shot in ("1C", "1G"):
                section = p.locator(f"section[data-shot='{shot}']")
                expect(section).to_be_visible()
                panel = section.locator("img.panel").first
                expect(panel).to_be_visible()
                # the picture really loaded: a broken image has no natural width
                assert panel.evaluate("img => img.complete && img.naturalWidth") > 0
                prompt = section.locator("details.prompt").first
                assert not prompt.locator("pre").is_visible()        # folded until a person opens it
                prompt.locator("summary").click()
                expect(prompt.locator("pre")).to_be_visible()
            p.screenshot(path=str(shots_dir / "report-top.png"))
            mia = p.locator("#bible-character-mia")
            mia.scroll_into_view_if_needed()
            expect(mia).to_contain_text("approved")
            expect(mia.locator("table")).to_contain_text("v2 (fix three_quarter)")
            expect(p.locator("section[data-shot='1G'] .badge.pass").first).to_be_visible()
            p.screenshot(path=str(shots_dir / "report-full.png"), full_page=True)
        finally:
            browser.close()
    print(f"screenshots: {shots_dir / 'report-top.png'} {shots_dir / 'report-full.png'}")
    assert (shots_dir / "report-full.png").stat().st_size > 10_000
