"""The approval form of a final scene shows each shot's lines of dialogue — who says what, their
delivery, and what speaking each is estimated to cost by its speaker's voice — beside its clip's
cost (issue 37 item 8): a person approving the finals sees what will be heard."""
from __future__ import annotations

import io
from decimal import Decimal

import yaml
from PIL import Image

from slate.flows.approval import ShotToApprove, description
from slate.flows.scene_approval import spoken_lines
from slate.governor.estimate import price_line
from slate.governor.money import fmt_usd
from slate.governor.ratecard import RateCard
from slate.manifests import load_film
from slate.providers.storage_local import LocalStorage
from slate.tasks.run import open_run
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
    text = description("scene-01", "final", shots, storage.open_local, "$1.40", "run $5.00", "$5.00", "sheet.png")
    c, a = text.split("#### 1C")[1].split("#### 1A")
    assert f"- gabe: “{line}” [quiet] — $0.0047" in c and "not part of the amount" in c
    assert "Lines" not in a                       # a shot with no lines shows none
