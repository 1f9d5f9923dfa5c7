"""The dailies form puts each shot's pictures beside that shot's controls (issue 57 item 3).

The Prefect UI shows a run's form in a dialog that scrolls: the form's own text first, then each
field with its description (markdown) right above its control. A shot's pictures in the form's
text sat thousands of characters away from its fields. Here the form is built as the dailies flow
builds it, and its JSON schema (what the UI renders) is read: each shot's *your word* field holds
a decoded picture of every take it offers, with its label; the form's own text holds none.
"""
from __future__ import annotations

import base64
import io
import re
from pathlib import Path

from PIL import Image

from slate.flows.review.dailies_form import form_for, form_text, said_of, shown_of
from slate.flows.review.rushes import DailyShot, DailyTake

DATA_URL = re.compile(r"!\[([^\]]*)\]\((data:image/jpeg;base64,[A-Za-z0-9+/=]+)\)")


def _picture(folder: Path, name: str, colour: tuple[int, int, int]) -> str:
    path = folder / f"{name}.png"
    Image.new("RGB", (854, 480), colour).save(path)
    return f"local://{name}"


def _shots(folder: Path) -> list[DailyShot]:
    take = _picture(folder, "1D-clip-1", (200, 40, 40))
    older = _picture(folder, "1D-clip-2", (40, 200, 40))
    panel = _picture(folder, "2C-panel-1", (40, 40, 200))
    return [
        DailyShot(scene="scene-01", shot="1D", status="approved", new=True, keys={"clip": "k1", "panel": "p1"},
                  takes=[DailyTake(kind="clip", take=1, preview=take, uri="u1", passed=False,
                                   reasons=["identity 0.41 < 0.6"], cost_usd="0.40"),
                         DailyTake(kind="clip", take=2, preview=older, uri="u2", passed=True, in_cut=True,
                                   scores=["identity 0.82 (line 0.6)"], cost_usd="0.40")]),
        DailyShot(scene="scene-02", shot="2C", status="approved", new=True, keys={"panel": "p2"},
                  takes=[DailyTake(kind="panel", take=1, preview=panel, uri="u3", passed=True, cost_usd="0.04")]),
    ]


def _colour(url: str) -> tuple[int, ...]:
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as img:
        return img.convert("RGB").getpixel((img.width // 2, img.height // 2))


def test_each_shots_takes_are_pictured_in_its_own_fields_and_the_form_text_holds_none(tmp_path):
    shown = shown_of("night-diner", "draft", _shots(tmp_path))
    form = form_for(shown, lambda uri: tmp_path / f"{uri.removeprefix('local://')}.png")
    props = form.model_json_schema()["properties"]
    for shot, takes in (("1D", [("clip take 2 (in the cut)", (40, 200, 40)), ("clip take 1", (200, 40, 40))]),
                        ("2C", [("panel take 1", (40, 40, 200))])):
        described = props[f"{shot}_word"]["description"]
        pictures = DATA_URL.findall(described)
        assert [alt for alt, _ in pictures] == [f"{shot} {label}" for label, _ in takes], described[:300]
        for (_, url), (label, colour) in zip(pictures, takes):
            assert all(abs(a - b) < 12 for a, b in zip(_colour(url), colour)), (shot, label)   # its own picture
            assert f"*{label}*" in described
        assert described.index("![") > described.index(f"#### {shot}")   # under its heading, above its control
        assert "circle: this take goes in the cut" in described
    assert "failed (identity 0.41 < 0.6); $0.40" in props["1D_word"]["description"]
    # the other fields of a shot say only what they mean; the form's text says what is asked, no picture
    assert "![" not in props["1D_note"]["description"] and "![" not in props["said_by"]["description"]
    text = form_text(shown, ["scene-01", "scene-02"])
    assert "![" not in text and "1D, 2C" in text


def test_an_answered_form_read_again_needs_no_picture_and_reads_the_words(tmp_path):
    shown = shown_of("night-diner", "draft", _shots(tmp_path))
    plain = form_for(shown)           # no storage at hand: the answer is still read against the same fields
    assert "![" not in str(plain.model_json_schema())
    answer = plain(**{"1D_word": "circle", "1D_take": "clip take 1", "2C_word": "NG", "2C_note": "too dark",
                      "said_by": "Dee"})
    said = {s.shot: s for s in said_of(answer, shown)}
    assert (said["1D"].word, said["1D"].take, said["2C"].word, said["2C"].note) == ("circled", 1, "ng", "too dark")


def test_a_picture_gone_from_storage_leaves_its_shot_to_answer(tmp_path):
    shown = shown_of("night-diner", "draft", _shots(tmp_path))
    (tmp_path / "1D-clip-1.png").unlink()
    described = form_for(shown, lambda uri: tmp_path / f"{uri.removeprefix('local://')}.png") \
        .model_json_schema()["properties"]["1D_word"]["description"]
    assert "(its picture is not in storage)" in described and len(DATA_URL.findall(described)) == 1


def test_each_line_of_a_shots_part_is_its_own_paragraph(tmp_path):
    """The UI joins a field description's single line breaks: each score a paragraph of its own."""
    shots = _shots(tmp_path)
    shots[0].takes[1].scores.extend(["wardrobe 0.9 (line 0.85)", "marks 1.0 (line 0.5)"])
    shown = shown_of("night-diner", "draft", shots)
    described = form_for(shown, lambda uri: tmp_path / f"{uri.removeprefix('local://')}.png") \
        .model_json_schema()["properties"]["1D_word"]["description"]
    assert "\n\n- wardrobe 0.9 (line 0.85)\n\n- marks 1.0 (line 0.5)" in described
    assert re.search(r"[^\n]\n[^\n]", described) is None


def test_a_shot_shows_what_the_continuity_ledger_holds_and_which_of_it_the_take_broke(tmp_path):
    """Issue 58 item 5: the ledger's state of the shot sits in its part of the form and in the
    terminal's list, and a take that failed the ledger's checks names the item under it."""
    from slate.commands.dailies import shot_lines
    from slate.manifests import load_film, write_example_film
    from slate.manifests.continuity_ledger import ledger_lines

    scene = load_film(write_example_film(tmp_path / "film")).scene("scene-01")
    held = ledger_lines(scene, next(s for s in scene.shots if s.id == "1D"))
    assert held[0].startswith("starts: the mug, full, at the counter, frame left; gabe, frame left")
    assert held[1] == "ends: the mug, full, at the counter, frame right"     # 1D's own change only
    moved = "props 0.00 / 0.85 — mug: 0% of it as the ledger has it (frame left, full); it stands frame right instead"
    shot = DailyShot(scene="scene-01", shot="1D", status="escalated", new=True, keys={"panel": "p1"}, ledger=held,
                     takes=[DailyTake(kind="panel", take=1, preview=_picture(tmp_path, "1D", (90, 90, 90)), uri="u1",
                                      passed=False, scores=[moved, "identity 0.97 / 0.85 — gabe: 97%"],
                                      cost_usd="0.04")])
    [part] = shown_of("night-diner", "draft", [shot]).shots
    body = part.body
    assert "Continuity ledger:\n- starts: the mug, full, at the counter, frame left" in body
    assert body.split("Not as the ledger holds it:\n", 1)[1].startswith(f"- {moved}")
    assert "identity 0.97" not in body.split("Not as the ledger holds it:", 1)[1].split("\n\n")[0]
    assert f"`slate continuity <film> {shot.shot} THING FIELD=VALUE`" in body   # how to keep the picture instead
    lines = shot_lines(shot)
    assert f"  the ledger {held[0]}" in lines and f"  the ledger {held[1]}" in lines
    # A film with no ledger shows none of it.
    bare = shot.model_copy(update={"ledger": []})
    assert "Continuity ledger" not in shown_of("night-diner", "draft", [bare]).shots[0].body
