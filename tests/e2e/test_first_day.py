"""What a new user meets first: the skeleton `slate init` writes, and `slate status`.

The skeleton's manifests name every field a film, bible, scene and shot may have, with each
field's allowed values (read from the schema, so a new field or choice not documented there
fails here), say what the local judge can read, and load as they are: `slate check` on a fresh
skeleton names only the references still to add. `slate status` lists what runs wrote under
renders/ — a contact sheet too, not "none yet".
"""
from __future__ import annotations

import typing

import pytest

from pydantic import BaseModel
from typer.testing import CliRunner

from slate.manifests import schema
from slate.cli import app
from tests.runs import summary_of

runner = CliRunner()


def _choices(annotation) -> set[str]:
    """The Literal choices anywhere inside a field's annotation."""
    found = set()
    if typing.get_origin(annotation) is typing.Literal:
        found |= {str(a) for a in typing.get_args(annotation)}
    for arg in typing.get_args(annotation):
        found |= _choices(arg)
    return found


def _fields(model: type[BaseModel]):
    for name, info in model.model_fields.items():
        yield name, _choices(info.annotation)


def test_the_skeleton_names_every_field_and_its_allowed_values(tmp_path):
    root = tmp_path / "my film"
    assert runner.invoke(app, ["init", str(root)]).exit_code == 0
    text = "\n".join(p.read_text() for p in (root / "film.yaml", root / "bible.yaml",
                                              root / "scenes" / "scene-01.yaml"))
    for model in (schema.Film, schema.Character, schema.Location, schema.Scene, schema.Wardrobe, schema.Shot,
                  schema.Camera, schema.Transition):
        for name, choices in _fields(model):
            assert f"{name}:" in text, (model.__name__, name)
            for choice in choices:
                assert choice in text, (model.__name__, name, choice)
    for words in ("768x384", "192x384", "TRANSPARENT", "FLAT", "--judge gemini", "--cannot-judge warn"):
        assert words in text, words


def test_a_fresh_skeleton_checks_with_only_its_references_missing(tmp_path):
    root = tmp_path / "My Film"
    assert runner.invoke(app, ["init", str(root)]).exit_code == 0
    result = runner.invoke(app, ["check", str(root)])
    lines = result.stderr.splitlines()
    assert result.exit_code == 1 and len(lines) == 3, result.stderr
    assert lines[0].startswith("error: bible.yaml: characters[0].turnaround: character 'lead': no approved reference")
    assert lines[1].startswith("error: bible.yaml: locations[0].plate: location 'set': no approved reference")


def test_status_lists_what_runs_wrote(example_film):
    renders = example_film / "renders"
    renders.mkdir()
    (renders / "scene-01-final-contact.png").write_bytes(b"png")
    listed = runner.invoke(app, ["status", str(example_film)])
    assert listed.exit_code == 0, listed.output
    assert "scene-01-final-contact.png (contact sheet)" in listed.output and "none yet" not in listed.output
    (renders / "scene-01-final.partial-3-of-9.mp4").write_bytes(b"mp4")
    (renders / "night-diner-draft.mp4").write_bytes(b"mp4")
    listed = runner.invoke(app, ["status", str(example_film)])
    assert "scene-01-final.partial-3-of-9.mp4 (partial cut)" in listed.output
    assert "film night-diner: night-diner-draft.mp4" in listed.output


@pytest.mark.e2e
@pytest.mark.usefixtures("local_calls", "prefect_harness")
def test_art_the_judge_cannot_read_is_refused_by_check_and_rehearsed_when_asked(example_film):
    """Gabe's turnaround saved as a JPEG (no transparency: the local judge cannot read it). `slate
    check` refuses it; with `--cannot-judge warn` check passes with a warning and the run renders
    the scene offline, every take that used the sheet shown unjudged — on the summary, in the
    validation table and with its own badge on the contact sheet — and the scene ends Unjudged,
    never a plain Completed."""
    from PIL import Image

    from slate.media.contact import VERDICT_COLOURS, badge_box
    from tests.bad_inputs import redrawn
    from tests.scene_cuts import keep_shots
    from tests.e2e.test_contact_sheet_run import _lines_of
    from tests.e2e.test_escalation_composite import _validation_row
    keep_shots(example_film, ("1A", "1C"))       # 1A: Nina alone (readable); 1C: Gabe and Jenny
    redrawn("characters/gabe/gabe_turnaround_APPROVED.png", lambda im: (im.convert("RGB"), "JPEG"))(example_film)

    refused = runner.invoke(app, ["check", str(example_film)])
    assert refused.exit_code == 1 and "gabe_turnaround_APPROVED.png: the local judge cannot read it" in refused.stderr
    rehearsal = runner.invoke(app, ["check", str(example_film), "--cannot-judge", "warn"])
    assert rehearsal.exit_code == 0 and "warning: bible.yaml: characters[0].turnaround" in rehearsal.stderr, \
        rehearsal.stderr

    out = runner.invoke(app, ["run", str(example_film), "--cannot-judge", "warn"])
    print(out.output[-2500:])
    assert out.exit_code == 0 and "state: Unjudged" in out.output, out.output[-3000:]
    assert "unjudged scene-01/1C: the judge could not read it" in out.output
    assert "turnaround of 'gabe' is mode RGB with no alpha channel" in out.output
    assert "scene-01/1A" not in summary_of(out.output)     # judged, and passed (said only as it moved)
    assert (example_film / "renders" / "scene-01-draft.mp4").is_file()
    assert _validation_row("1C")["verdict"] == "unjudged" and _validation_row("1A")["verdict"] == "approved"
    sheet = Image.open(example_film / "renders" / "scene-01-draft-contact.png").convert("RGB")
    lines = _lines_of(sheet, 8, 4)
    colour = lambda i: sheet.getpixel(tuple(badge_box(i, columns=4, lines=lines)[:2]))  # noqa: E731
    assert colour(4) == VERDICT_COLOURS["unjudged"]        # 1C's panel
    assert colour(0) != VERDICT_COLOURS["unjudged"]        # 1A's panel: judged

    # The run's page: the contact sheet an image, the output a moving picture (an animated WebP),
    # the file's place in its description — not a file:// link no browser follows.
    import base64
    import io

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    # The session's Prefect server holds other tests' runs of the same scene under the same keys:
    # this run's output is the one that names this film's file.
    film_file = str((example_film / "renders" / "scene-01-draft.mp4").resolve())
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(
            any_=["night-diner-scene-01-draft-output", "night-diner-scene-01-draft-contact-sheet"])))
    ours = [a for a in found if a.key.endswith("-output") and film_file in (a.description or "")]
    assert len(ours) == 1, [(a.key, a.description) for a in found]
    output = ours[0]
    sheets = [a for a in found if a.key.endswith("-contact-sheet") and a.flow_run_id == output.flow_run_id]
    assert output.type == "image" and output.data.startswith("data:image/webp;base64,"), output.type
    preview = Image.open(io.BytesIO(base64.b64decode(output.data.split(",", 1)[1])))
    assert preview.n_frames > 5 and preview.width == 320, (preview.n_frames, preview.size)
    assert [a.type for a in sheets] == ["image"], found

    again = runner.invoke(app, ["run", str(example_film)])  # a real run of the same art is refused
    assert again.exit_code == 1 and "the local judge cannot read it" in again.output + again.stderr
