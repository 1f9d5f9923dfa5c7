"""`slate dailies` (issue 40), on a rushes file and a ledger written here as a run writes them: the
list a person reads (each take's verdict and scores, cost, time, the take in the cut, the word, an
agent's proposal, a cleared word; new takes first), the answers it writes (a $0 approvals row with
the shot's current key), and every refusal — each before anything is written, naming the shot and
the take. The production report's dailies, from the same rushes. No run: the whole cycle through a
real run is tests/e2e/test_dailies_cli.py."""
from __future__ import annotations

import re
import uuid
from decimal import Decimal
from html import unescape

import pytest
from typer.testing import CliRunner

from slate.cli import app
from slate.commands.dailies_answers import BadAnswer, read_answers
from slate.flows.review.rushes import RushShot, RushTake, Rushes, dailies_of, rushes_path
from slate.governor.ledger import CallRequest, Ledger
from slate.tasks.review.circle import say_word, words_of

FILM, SCENE = "night-diner", "scene-01"
NOTE = "the door swings open, it does not explode"
runner = CliRunner()


def _uri(n: int, suffix: str) -> str:
    return f"cas://{n:064x}.{suffix}"


def _take(kind: str, take: int, key: str, *, passed: bool = True, scores=(), reasons=()) -> RushTake:
    return RushTake(kind=kind, take=take, uri=_uri(take * 10 + (kind == "clip"), "mp4" if kind == "clip" else "png"),
                    preview=_uri(take * 100, "png"), passed=passed,
                    scores=list(scores) or ["identity 1.00 / 0.85 — gabe: 100% of the face",
                                            "identity 0.97 / 0.85 — jenny: 97% of the face"],
                    reasons=list(reasons), run_id="run-1", key=key)


@pytest.fixture
def dailies_film(example_film):
    """The example with a draft run's rushes: 1C (a panel; clip take 1 of the shot as it was
    before; takes 2 and 3 now, 2 in the cut, 3 failed by its gate), 1D (one take of each, the
    last run cleared a word on it), and 1A (takes nobody has answered: none, since it has a hold).
    Clip take 3 of 1C cost $0.35 by the ledger."""
    c_key, d_key = "c-key-now", "d-key"
    shots = [
        RushShot(shot="1A", keys={"panel": "a-panel", "clip": "a-clip"},
                 takes=[_take("panel", 1, "a-panel"), _take("clip", 1, "a-clip")], in_cut={"panel": 1, "clip": 1},
                 status="approved"),
        RushShot(shot="1C", keys={"panel": "c-panel", "clip": c_key},
                 takes=[_take("panel", 1, "c-panel"), _take("clip", 1, "c-key-before"), _take("clip", 2, c_key),
                        _take("clip", 3, c_key, passed=False,
                              scores=["identity 0.62 / 0.85 — jenny: her hair is short in the last frame"],
                              reasons=["identity 0.62 < 0.85"])],
                 in_cut={"panel": 1, "clip": 2}, status="approved"),
        RushShot(shot="1D", keys={"panel": "d-panel", "clip": d_key},
                 takes=[_take("panel", 1, "d-panel"), _take("clip", 1, d_key)], in_cut={"panel": 1, "clip": 1},
                 status="approved", cleared="circled take 2 (ana) cleared: the shot's manifest changed since"),
    ]
    rushes = Rushes(film=FILM, scene=SCENE, profile="draft", run_id="run-1", at="2026-01-02T03:04:05+00:00",
                    shots=shots)
    path = rushes_path(example_film, SCENE, "draft")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rushes.model_dump_json())
    with Ledger.for_project(example_film) as ledger:
        request = CallRequest(run_id="run-1", film=FILM, scene=SCENE, shot="1C", stage="video", take=3,
                              provider="local", model="local-ffmpeg-v1", profile="draft", fingerprint=uuid.uuid4().hex,
                              prompt="gabe pours coffee", reference_hashes=(), parameters={},
                              estimate=Decimal("0.35"))
        ledger.settle(ledger.reserve(cap_scopes=[], request=request).call_id, actual_cost=Decimal("0.35"),
                      artifact_uri=_uri(31, "mp4"))
        say_word(ledger, run_id="run-1", film=FILM, scene=SCENE, shot="1A", kind="clip", take=1, word="hold",
                 note="", add_to_prompt=False, profile="draft", key="a-clip", by="ana")
    return example_film


def _words(root) -> list:
    with Ledger.for_project(root) as ledger:
        return words_of(ledger, FILM, proposals=True)


def _dailies(root, *args: str):
    return runner.invoke(app, ["dailies", str(root), *args])


# -- reading the command line ------------------------------------------------------------------

def test_notes_pair_with_their_ng_in_order_and_each_answer_is_one_shot():
    answers = read_answers(["1A:2"], ["1C", "1D:3"], ["1E"], ["slower", "no cup"], False)
    assert [(a.word, a.shot, a.take, a.note) for a in answers] == [
        ("circled", "1A", 2, ""), ("ng", "1C", None, "slower"), ("ng", "1D", 3, "no cup"), ("hold", "1E", None, "")]


@pytest.mark.parametrize("circle, ng, hold, notes, add, said", [
    (["1C"], [], [], [], False, "--circle 1C: circle which take? give SHOT:TAKE"),
    ([], ["1C"], [], [], False, "--ng 1C: an NG needs its note"),
    ([], ["1C", "1D"], [], ["slower"], False, "--ng 1D: an NG needs its note"),
    ([], ["1C"], [], ["   "], False, "--ng 1C: an NG needs its note"),
    ([], [], ["1C"], ["slower"], False, "--note is an NG's note: 1 --note for 0 --ng"),
    ([], [], ["1C"], [], True, "--add-to-prompt puts an NG's note in the next take's prompt"),
    (["1C:1"], [], ["1C"], [], False, "1C: two answers in one command (--circle 1C:1 and --hold 1C)"),
    ([], ["1C:1", "1C:2"], [], ["a", "b"], False, "1C: two answers in one command"),
    (["1c:2"], [], [], [], False, "--circle: '1c:2' is not SHOT or SHOT:TAKE"),
    (["1C:0"], [], [], [], False, "--circle: 1C:0: takes are counted from 1"),
    (["1C:two"], [], [], [], False, "is not SHOT or SHOT:TAKE"),
])
def test_answers_that_cannot_be_meant_are_refused(circle, ng, hold, notes, add, said):
    with pytest.raises(BadAnswer) as refused:
        read_answers(circle, ng, hold, notes, add)
    assert said in str(refused.value)


# -- the list ------------------------------------------------------------------------------------

def test_the_list_shows_every_take_its_verdict_cost_and_word_new_shots_first(dailies_film):
    with Ledger.for_project(dailies_film) as ledger:
        say_word(ledger, run_id="x", film=FILM, scene=SCENE, shot="1C", kind="clip", take=2, word="ng", note="slower",
                 add_to_prompt=False, profile="draft", key="c-key-now", by="agent-1", proposal=True, caller="mcp")
    done = _dailies(dailies_film)
    assert done.exit_code == 0, done.output
    out = done.output
    # 1A has a hold later than its takes: not new, so after the others.
    heads = re.findall(r"^(\d[A-Z]) \(scene-01\) — approved( · new takes)?$", out, re.M)
    assert heads == [("1C", " · new takes"), ("1D", " · new takes"), ("1A", "")], out
    c = out.split("1C (scene-01)")[1].split("1D (scene-01)")[0]
    assert "  the word: none yet" in c
    assert re.search(r"^  NG take 2 \(proposed by agent-1\): slower   \(an agent.s proposal, not acted on; to make "
                     r"it yours: --ng 1C:2 --note slower\)$", c, re.M), c
    assert re.search(r"^  clip take 2 · passed · in the cut · \$0\.00$", c, re.M), c
    assert re.search(r"^  clip take 3 · failed · \$0\.35 · made \d{4}-\d\d-\d\d \d\d:\d\d UTC$", c, re.M), c
    assert "    scores: identity gabe 1.00/0.85, identity jenny 0.97/0.85" in c
    assert "    failing: identity 0.62 / 0.85 — jenny: her hair is short in the last frame" in c
    assert "    why not: identity 0.62 < 0.85" in c
    assert "before the shot changed (a word on these would be cleared): clip take 1" in c
    assert c.index("panel take 1") < c.index("clip take 2") < c.index("clip take 3")
    d = out.split("1D (scene-01)")[1].split("1A (scene-01)")[0]
    assert "  cleared by the last run: circled take 2 (ana) cleared: the shot's manifest changed since" in d
    a = out.split("1A (scene-01)")[1]
    assert "  the word: held take 1 (ana)" in a


def test_a_scene_or_a_profile_never_run_is_refused_naming_what_ran(dailies_film):
    done = _dailies(dailies_film, "--profile", "final")
    assert done.exit_code == 2 and "no take at final yet" in done.stderr and "--profile draft" in done.stderr
    done = _dailies(dailies_film, "--profile", "final", "--circle", "1C:2")
    assert done.exit_code == 2 and "no take at final yet" in done.stderr
    done = _dailies(dailies_film, "--scene", "scene-09")
    assert done.exit_code == 2 and "--scene: unknown scene 'scene-09'" in done.stderr
    assert _words(dailies_film)[-1].shot == "1A"   # only the fixture's hold


# -- the answers ---------------------------------------------------------------------------------

def test_answers_write_the_word_with_the_shots_current_key_and_say_what_the_next_run_does(dailies_film):
    done = _dailies(dailies_film, "--ng", "1C", "--note", NOTE, "--add-to-prompt", "--circle", "1D:1", "--by", "ana")
    assert done.exit_code == 0, (done.output, done.stderr)
    # --ng without a take NGs the one the cut uses: take 2.
    assert "1C: NG take 2 — the next run takes up take 3, made before" not in done.output   # the note changes it
    assert re.search(r"^1C: NG take 2 — the next run makes take 3 \(est\. \$\d+\.\d\d\) from the same panel, with the "
                     r"note in its prompt$", done.output, re.M), done.output
    assert "1D: circled take 1 — in the cut already" in done.output
    circled, ng = _words(dailies_film)[-2:]   # written circled, NG, hold: as the command reads them
    assert (ng.shot, ng.kind, ng.take, ng.word, ng.note, ng.add_to_prompt, ng.key, ng.by, ng.proposal) == \
        ("1C", "clip", 2, "ng", NOTE, True, "c-key-now", "ana", False)
    assert (circled.shot, circled.take, circled.word, circled.key, circled.add_to_prompt) == \
        ("1D", 1, "circled", "d-key", False)
    with Ledger.for_project(dailies_film) as ledger:
        [shot] = [s for s in dailies_of(dailies_film, ledger, FILM, [SCENE], "draft") if s.shot == "1C"]
        assert shot.clip_word == ng and not shot.new
        assert all(r.stage == "video" for r in ledger.rows(film=FILM))   # nothing paid by answering


def test_a_panel_word_carries_the_panels_key_and_a_hold_waits(dailies_film):
    done = _dailies(dailies_film, "--hold", "1C", "--ng", "1D", "--note", "more light", "--panel", "--by", "ana")
    assert done.exit_code == 0, done.stderr
    assert "1C: hold panel take 1 — the next run changes nothing" in done.output
    assert "1D: NG panel take 1 — the next run makes panel take 2" in done.output and "a new clip from it" in done.output
    assert "the note kept in the ledger, not in its prompt" in done.output
    ng, held = _words(dailies_film)[-2:]
    assert (held.kind, held.key, held.word) == ("panel", "c-panel", "hold")
    assert (ng.kind, ng.key, ng.take, ng.add_to_prompt) == ("panel", "d-panel", 1, False)


def test_an_ng_of_a_take_whose_next_is_in_the_cache_says_it_is_taken_up_for_nothing(dailies_film):
    done = _dailies(dailies_film, "--ng", "1C:2", "--note", "slower", "--by", "ana")
    assert "1C: NG take 2 — the next run takes up take 3, made before, from the cache (nothing paid)" in done.output
    done = _dailies(dailies_film, "--circle", "1C:3", "--by", "ana")
    assert "1C: circled take 3 — the next run puts it back in the cut over its gate (which failed it)" in done.output


@pytest.mark.parametrize("args, said", [
    (["--circle", "1C:1"], "--circle 1C:1: clip take 1 of 1C was made before the shot changed"),
    (["--circle", "1C:7"], "--circle 1C:7: 1C has no clip take 7 (its current clip takes: 2, 3)"),
    (["--circle", "1C:2", "--panel"], "--circle 1C:2: 1C has no panel take 2 (its current panel takes: 1)"),
    (["--hold", "1Z"], "--hold 1Z: no shot 1Z in the film"),
    (["--hold", "1B"], "--hold 1B: no take of 1B at draft in scene-01 yet (the dailies have 1A, 1C, 1D)"),
    (["--ng", "1C", "--note", "see https://example.com/ref", "--add-to-prompt"],
     "--ng 1C: the note would be refused in 1C's clip prompt by the prompt lint — block:"),
    (["--ng", "1D"], "--ng 1D: an NG needs its note"),
    (["--circle", "1D:1", "--ng", "1D", "--note", "x"], "1D: two answers in one command"),
    (["--hold", "1A", "--by", "  "], "--by: who answers?"),
])
def test_a_bad_answer_is_refused_naming_the_shot_and_take_and_nothing_is_written(dailies_film, args, said):
    before = _words(dailies_film)
    # A good answer checked first (circled ones are read first): not written either when another is refused.
    done = _dailies(dailies_film, "--circle", "1A:1", *args) if "1A" not in args else _dailies(dailies_film, *args)
    assert done.exit_code == 2, (done.output, done.stderr)
    assert said in done.stderr, done.stderr
    if "--add-to-prompt" in args:
        assert "[no-secrets]" in done.stderr   # the rule, by name
    assert _words(dailies_film) == before


def test_a_note_the_lint_warns_of_is_said_and_the_word_written(dailies_film):
    """A "warn" rule warns of a prompt as it does before a paid call; only a "block" refuses."""
    done = _dailies(dailies_film, "--ng", "1C", "--note", "he drops the knife", "--add-to-prompt", "--by", "ana")
    assert done.exit_code == 0, done.stderr
    assert "warning: 1C: the note in the clip prompt: warn:" in done.stderr and "[moderation-words]" in done.stderr
    assert _words(dailies_film)[-1].note == "he drops the knife"


def test_an_agent_proposal_is_never_written_by_the_terminal(dailies_film):
    """`--by agent-1` is a person's name here: the row is a person's word, never a proposal — an
    agent proposes through the MCP server only."""
    done = _dailies(dailies_film, "--hold", "1C", "--by", "agent-1")
    assert done.exit_code == 0
    assert not _words(dailies_film)[-1].proposal


def test_a_shot_id_two_scenes_have_is_answered_in_the_scene_named(example_film):
    from tests.scene_cuts import two_short_scenes
    two_short_scenes(example_film)
    for scene in ("scene-01", "scene-02"):
        shot = RushShot(shot="1A", keys={"panel": f"{scene}-p", "clip": f"{scene}-c"}, in_cut={"panel": 1, "clip": 1},
                        takes=[_take("panel", 1, f"{scene}-p"), _take("clip", 1, f"{scene}-c")], status="approved")
        path = rushes_path(example_film, scene, "draft")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Rushes(film=FILM, scene=scene, profile="draft", run_id="r", at="2026-01-02T03:04:05+00:00",
                               shots=[shot]).model_dump_json())
    done = _dailies(example_film, "--hold", "1A")
    assert done.exit_code == 2 and "--hold 1A: 1A is a shot of scene-01, scene-02: say which with --scene" in done.stderr
    assert _words(example_film) == []
    done = _dailies(example_film, "--hold", "1A", "--scene", "scene-02", "--by", "ana")
    assert done.exit_code == 0, done.stderr
    [held] = _words(example_film)
    assert (held.scene, held.key) == ("scene-02", "scene-02-c")


# -- the production report ------------------------------------------------------------------------

def test_the_report_shows_each_shots_takes_side_by_side_with_verdicts_word_and_proposal(dailies_film):
    with Ledger.for_project(dailies_film) as ledger:
        say_word(ledger, run_id="x", film=FILM, scene=SCENE, shot="1C", kind="clip", take=2, word="ng", note="slower",
                 add_to_prompt=False, profile="draft", key="c-key-now", by="agent-1", proposal=True, caller="mcp")
    done = runner.invoke(app, ["report", str(dailies_film)])
    assert done.exit_code == 0, done.output
    html = (dailies_film / "renders" / "report" / "index.html").read_text()
    c = html.split('data-shot="1C">')[1].split("</section>")[0]
    daily = c.split('<div class="dailies" data-profile="draft">')[1]
    clips = re.search(r'<div class="row side-by-side" data-kind="clip">(.*?)\n</div>', daily, re.S).group(1)
    takes = re.findall(r'<figure class="daily( in-cut)?" data-kind="clip" data-take="(\d+)">', clips)
    assert takes == [(" in-cut", "2"), ("", "3")], clips   # current takes only, side by side, the cut's marked
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", daily)).split())
    assert "clip take 3 failed $0.35, made" in text and "clip take 2 passed in the cut $0.00" in text, text
    assert re.search(r'<span class="badge fail" title="jenny: her hair is short in the last frame">identity 0\.62/0\.85',
                     daily)
    assert "agent's proposal NG take 2 (proposed by agent-1): slower" in text
    assert "no word yet" in text
    # Read-only, it says so, and how each take is answered (issue 57): the command beside the take.
    assert "This page is read-only." in text
    assert f"circle: slate dailies {dailies_film} --circle 1C:3 --profile draft" in text, text
    assert f'NG: slate dailies {dailies_film} --ng 1C:3 --note "…" --profile draft' in text, text
    import shlex
    said = runner.invoke(app, shlex.split(f"slate dailies {dailies_film} --circle 1C:3 --profile draft")[1:])
    assert said.exit_code == 0 and "1C: circled take 3" in said.output, said.output
    d = html.split('data-shot="1D">')[1].split("</section>")[0]
    assert "cleared circled take 2 (ana) cleared" in " ".join(unescape(re.sub(r"<[^>]+>", " ", d)).split())
    a = html.split('data-shot="1A">')[1].split("</section>")[0]
    assert "the word held take 1 (ana)" in " ".join(unescape(re.sub(r"<[^>]+>", " ", a)).split())
