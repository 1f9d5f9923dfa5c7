"""Issue 40: a person's word at the dailies steers the next run — an NG makes one new take of that
shot only (paid, its note in the prompt only when asked), a circle brings an earlier take back into
the cut with nothing paid, and a changed shot clears its word. Counted where it lands: the
ledger's paid rows and the rushes the runs wrote."""
from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from slate.cli import app
from slate.flows.review.rushes import read_rushes
from slate.governor.ledger import Ledger
from slate.tasks.review.circle import say_word
from tests.scene_cuts import keep_shots, without_finishing

FILM, SCENE = "night-diner", "scene-01"
NOTE = "the cup stays on the table"


def _paid(root) -> list[tuple[str, str, int, str]]:
    return [(r.shot, r.stage, r.take, r.prompt) for r in Ledger.for_project(root).rows(film=FILM)
            if r.status == "succeeded" and r.stage in ("panel", "video")]


def _run(root) -> str:
    out = CliRunner().invoke(app, ["run", str(root)])
    assert out.exit_code == 0 and "state: Completed" in out.output, out.output[-3000:]
    return out.output


def _word(root, shot: str, kind: str, take: int, word: str, *, note: str = "", add: bool = False) -> None:
    rushes = read_rushes(root, SCENE, "draft")
    with Ledger.for_project(root) as ledger:
        say_word(ledger, run_id="dailies-test", film=FILM, scene=SCENE, shot=shot, kind=kind, take=take, word=word,
                 note=note, add_to_prompt=add, profile="draft", key=rushes.shot(shot).keys[kind], by="ana")


@pytest.mark.usefixtures("prefect_harness", "local_calls")
def test_ng_makes_one_new_take_and_a_circle_brings_the_first_back_for_nothing(example_film):
    keep_shots(example_film, ("1B", "1C"))
    without_finishing(example_film)
    _run(example_film)
    first = read_rushes(example_film, SCENE, "draft")
    assert first is not None and {s.shot for s in first.shots} == {"1B", "1C"}
    take = first.shot("1C").in_cut["clip"]
    before = _paid(example_film)

    # NG without "add to prompt": one new clip take of 1C, nothing else paid, the note not in it.
    _word(example_film, "1C", "clip", take, "ng", note=NOTE)
    _run(example_film)
    new = [row for row in _paid(example_film) if row not in before]
    assert [(s, stage, t) for s, stage, t, _ in new] == [("1C", "video", take + 1)], new
    assert NOTE not in new[0][3]
    second = read_rushes(example_film, SCENE, "draft")
    assert second.shot("1C").in_cut["clip"] == take + 1 and second.shot("1B").in_cut == first.shot("1B").in_cut
    assert second.shot("1C").word.startswith(f"NG take {take} (ana)")
    assert [t.take for t in second.shot("1C").takes_of("clip")] == [take, take + 1]   # both addressable

    # NG of that one, asking for the note in the prompt: the next take carries it.
    before = _paid(example_film)
    _word(example_film, "1C", "clip", take + 1, "ng", note=NOTE, add=True)
    _run(example_film)
    new = [row for row in _paid(example_film) if row not in before]
    assert [(s, stage, t) for s, stage, t, _ in new] == [("1C", "video", take + 2)], new
    assert NOTE in new[0][3]

    # Circle the first take: the cut uses it again, nothing paid.
    before = _paid(example_film)
    _word(example_film, "1C", "clip", take, "circled")
    said = _run(example_film)
    assert _paid(example_film) == before
    third = read_rushes(example_film, SCENE, "draft")
    assert third.shot("1C").in_cut["clip"] == take and third.shot("1C").word.startswith(f"circled take {take}"), said

    # A new action for 1C: the circle is about a shot that no longer is — cleared, and said.
    path = example_film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    [shot] = [s for s in doc["shots"] if s["id"] == "1C"]
    shot["action"] = shot["action"] + " She looks up."
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    _run(example_film)
    fourth = read_rushes(example_film, SCENE, "draft")
    assert fourth.shot("1C").cleared.startswith(f"circled take {take} (ana) cleared"), fourth.shot("1C")
    assert fourth.shot("1C").word == ""


def test_the_dailies_show_every_take_its_cost_and_the_word(example_film, prefect_harness, local_calls):
    """What the dailies show (flows/review/rushes.py dailies_of): each shot's panel and clip takes with
    their gate scores, what each cost by the ledger and when it was made, the take the cut uses,
    the word that stands and an agent's proposal — which never stands."""
    from slate.flows.review.rushes import dailies_of
    keep_shots(example_film, ("1C",))
    without_finishing(example_film)
    _run(example_film)
    ledger = Ledger.for_project(example_film)
    [shot] = dailies_of(example_film, ledger, FILM, [SCENE], "draft")
    assert shot.shot == "1C" and shot.new and shot.clip_word is None
    clip = [t for t in shot.takes if t.kind == "clip"]
    assert clip and clip[-1].in_cut and clip[-1].scores and clip[-1].made_at and clip[-1].preview, clip
    assert [t.take for t in shot.takes if t.kind == "panel" and t.in_cut] == [1]
    say_word(ledger, run_id="x", film=FILM, scene=SCENE, shot="1C", kind="clip", take=clip[-1].take, word="ng",
             note="slower", add_to_prompt=False, profile="draft", key=shot.keys["clip"], by="agent-1", proposal=True,
             caller="mcp")
    [shot] = dailies_of(example_film, ledger, FILM, [SCENE], "draft")
    assert shot.clip_word is None and [p.note for p in shot.proposals] == ["slower"]
    with pytest.raises(ValueError, match="only propose an NG"):
        say_word(ledger, run_id="x", film=FILM, scene=SCENE, shot="1C", kind="clip", take=1, word="circled", note="",
                 add_to_prompt=False, profile="draft", key=shot.keys["clip"], by="agent-1", proposal=True)
    _word(example_film, "1C", "clip", clip[-1].take, "hold")
    [shot] = dailies_of(example_film, ledger, FILM, [SCENE], "draft")
    assert shot.clip_word.word == "hold" and shot.proposals == [] and not shot.new
