"""The approval form of a final scene shows each shot's lines of dialogue — who says what, their
delivery, and what speaking each is estimated to cost by its speaker's voice — beside its clip's
cost (issue 37 item 8): a person approving the finals sees what will be heard."""
from __future__ import annotations

import io
from decimal import Decimal

import yaml
from PIL import Image

from slate.flows.review.approval import ShotToApprove, description, form_for, shot_sections
from slate.flows.review.scene_approval import spoken_lines
from slate.governor.estimate import price_line
from slate.governor.money import fmt_usd
from slate.governor.ratecard import RateCard
from slate.manifests import load_film
from slate.providers.storage_local import LocalStorage
from slate.tasks.run.run import open_run
from tests.runs import a_run
from tests.scene_cuts import without_voices

MULTILINGUAL = "elevenlabs:eleven_multilingual_v2"


def test_the_form_lists_each_shots_lines_with_their_cost(example_film):
    root = example_film
    without_voices(root)
    bible = yaml.safe_load((root / "bible.yaml").read_text())
    for c in bible["characters"]:
        if c["id"] == "gabe":
            c["voice"] = {"description": "a man in his forties, low", "provider": "elevenlabs",
                          "model": "eleven_multilingual_v2", "voice": "JBFqnCBsd6RMkjVDRZzb"}
    (root / "bible.yaml").write_text(yaml.safe_dump(bible, sort_keys=False))
    scene = yaml.safe_load((root / "scenes" / "scene-01.yaml").read_text())
    line = "Black coffee, and whatever pie is left, thanks."
    next(s for s in scene["shots"] if s["id"] == "1C")["dialogue"] = [
        {"speaker": "gabe", "text": line, "delivery": ["quiet"]}]
    (root / "scenes" / "scene-01.yaml").write_text(yaml.safe_dump(scene, sort_keys=False))
    film = load_film(root)

    with open_run(a_run(root, profile="final")) as run:
        said = spoken_lines(run, film)
    cost = price_line(RateCard.load(root), MULTILINGUAL, line, 150)
    assert cost == Decimal("0.0047")             # 47 characters × $0.10 / 1,000
    assert said == {"1C": [f"gabe: “{line}” [quiet] — {fmt_usd(cost)}"]}

    storage = LocalStorage(root)
    buf = io.BytesIO()
    Image.new("RGB", (32, 18), (90, 60, 30)).save(buf, format="PNG")
    uri = storage.put_bytes(buf.getvalue(), "png")
    shots = [ShotToApprove(shot="1C", panel_uri=uri, video_cost="$0.70", lines=said["1C"]),
             ShotToApprove(shot="1A", panel_uri=uri, video_cost="$0.70")]
    text = description("scene-01", "final", shots, "$1.40", "run $5.00", "$5.00", "sheet.png")
    assert "Total estimate: $1.40" in text and "####" not in text and "![" not in text   # the shots are not here
    # but in the Shots field's description, above the boxes that pick them (issue 57: the UI's dialog
    # shrinks the form's own text into a box of its own)
    shown = form_for(["1C", "1A"], shot_sections(shots, storage.open_local)).model_json_schema()
    beside = shown["properties"]["shots"]["description"]
    assert beside.startswith("the shots to approve") and beside.count("](data:image/jpeg;base64,") == 2, beside[:200]
    c, a = beside.split("#### 1C")[1].split("#### 1A")
    assert f"- gabe: “{line}” [quiet] — $0.0047" in c and "not part of the amount" in c
    assert "Lines" not in a                       # a shot with no lines shows none


def test_each_shot_on_the_form_says_the_take_its_clip_starts_from(example_film):
    """Issue 57: the form never named the take a clip would start from. A shot starts from its
    approved panel's take; a chained shot (the example's 1E) from the clip before it."""
    from slate.flows.review.scene_approval import _starts_from
    from slate.flows.shot.shot import Take
    from slate.tasks.shot.plan import plan_from_project
    plans = plan_from_project(load_film(example_film), "scene-01", "final", 24)
    by = {p.shot: p for p in plans}
    taken = [Take(stage="panel", moment="start", take=n, uri=f"cas://{n}", passed=True, quality=1.0, reasons=[])
             for n in (1, 2)]
    assert _starts_from(by["1A"], taken, plans) == "starts from panel take 2"
    assert by["1E"].chain and _starts_from(by["1E"], taken, plans) == \
        "starts from the last frame of 1D's final clip (chained)"


def test_the_form_a_run_waits_on_keeps_each_fields_title_and_description():
    """The form as `wait_for_person` hands it to Prefect: Prefect's `with_initial_data` redeclares
    every field it is given a value for without its title or description, and the UI showed the
    shots as a bare list with none of their panels. The defaults are the class's own."""
    from slate.flows.review.approval import form_for
    form = form_for(["1C", "1A"], "#### 1C — $0.70\n\n![1C](data:image/jpeg;base64,AAAA)")
    shown = form.with_initial_data(description="Approve the final video").model_json_schema()["properties"]
    assert shown["shots"]["title"] == "Shots" and "#### 1C" in shown["shots"]["description"]
    assert shown["shots"]["default"] == ["1C", "1A"] and shown["approve"]["default"] == "all shots"
    assert shown["approve"]["description"] == "which shots may be rendered at final resolution"
