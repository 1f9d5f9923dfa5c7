"""Prompts per model family from the locked blocks, and the prompt lint (rules as data).

The assembly is checked on the example film's real blocks; the lint on prompts a film-maker
would write (a metaphor, a word that trips moderation next to reference images, a URL), on a
family whose mandatory lines a project's rules removed, and on a blocking rule of the film's
own prompt_rules.toml: `slate check` refuses it, and so does the task before its paid call.
"""
from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from slate.manifests import load_film
from slate.providers.prompts import assemble, lint, load_rules
from slate.cli import app
from slate.tasks.run.lint import PromptRefused, check_before_paying
from slate.tasks.shot.plan import moment_blocks, plan_from_project

runner = CliRunner()


def blocks(root, shot="1A", moment="clip"):
    return moment_blocks(load_film(root), "scene-01", shot, moment)


def test_each_family_gets_its_order_and_lines(example_film):
    rules = load_rules(example_film)
    b = blocks(example_film)
    seedance = assemble(b, rules.family_of("replicate:bytedance/seedance-1-lite"), "clip").splitlines()
    veo = assemble(b, rules.family_of("gemini:veo-3.1-fast-generate-preview"), "clip").splitlines()
    edit = assemble(blocks(example_film, moment="start"), rules.family_of("gemini:gemini-2.5-flash-image"), "panel")
    assert seedance[0].startswith("nina: ") and seedance[-2:] == ["One continuous shot.",
                                                                  "Avoid jitter, bent limbs and identity drift."]
    assert veo[0].startswith("Wide shot, low angle") and "One continuous shot." not in veo
    assert edit.startswith("Edit the first image, the location plate,") and "Nina walks" in edit
    # nothing that is not a block, the action or a line of the rules
    film = load_film(example_film)
    assert film.character("nina").description.strip().splitlines()[0] in "\n".join(seedance)


def test_a_fixed_camera_is_said_in_the_familys_words(example_film):
    rules = load_rules(example_film)
    fixed = blocks(example_film)  # 1A is a locked-off wide shot in the example
    assert fixed.camera_fixed
    assert "Fixed camera." in assemble(fixed, rules.family_of("fal:fal-ai/bytedance/seedance/v1/pro/image-to-video"), "clip")
    assert "The camera does not move." in assemble(fixed, rules.family_of("replicate:kwaivgi/kling-v2.5-turbo-pro"), "clip")


def test_a_fallback_model_gets_its_own_familys_prompt_from_the_same_blocks(example_film):
    plans = plan_from_project(load_film(example_film), "scene-01", "draft", 24,
                              video_model="replicate:bytedance/seedance-1-lite")
    first = plans[0].clip_request("cas://a", None, 1)
    fallback = plans[0].clip_request("cas://a", None, 1, "gemini:veo-3.1-fast-generate-preview")
    assert "One continuous shot." in first.prompt and "One continuous shot." not in fallback.prompt
    assert fallback.prompt.splitlines()[0].startswith("Wide shot")


def test_the_lint_reads_prompts_as_a_provider_would(example_film):
    rules = load_rules(example_film)
    seedance = rules.family_of("replicate:bytedance/seedance-1-pro")
    ok = assemble(blocks(example_film), seedance, "clip")
    assert lint(ok, seedance, "clip", rules, with_references=True, camera_fixed=True) == []
    dreamy = ok.replace("Nina walks", "Nina drifts as if in a dream, blood on her sleeve; she walks")
    found = {f.rule: f for f in lint(dreamy, seedance, "clip", rules, with_references=True)}
    assert set(found) == {"metaphor", "moderation-words"} and not any(f.blocking for f in found.values())
    assert "blood" in found["moderation-words"].message
    assert "moderation-words" not in {f.rule for f in lint(dreamy, seedance, "clip", rules, with_references=False)}
    leaky = ok + "\nsee https://example.com/ref.png"
    [secret] = lint(leaky, seedance, "clip", rules, with_references=False)
    assert secret.blocking and "https://example.com" not in secret.message  # what it found is not echoed
    bare = "\n".join(line for line in ok.splitlines() if "continuous" not in line and "drift" not in line)
    missing = {f.rule for f in lint(bare, seedance, "clip", rules, with_references=False, camera_fixed=True)}
    assert missing == {"seedance-one-shot", "seedance-drift"}


def _rules(root, text):
    (root / "prompt_rules.toml").write_text(text)


def test_a_films_blocking_rule_fails_check_and_refuses_the_call(example_film):
    _rules(example_film, '[[rules]]\nid = "no-explosions"\nseverity = "block"\nfamilies = ["*"]\nkind = "*"\n'
                         'pattern = "explod"\nmessage = "explosions trip this studio\'s reviewers"\n')
    doc = yaml.safe_load((example_film / "scenes" / "scene-01.yaml").read_text())
    doc["shots"][0]["action"] = "A car explodes behind Nina as she walks toward the diner."
    (example_film / "scenes" / "scene-01.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    out = runner.invoke(app, ["check", str(example_film)])
    assert out.exit_code == 1
    assert "scenes/scene-01.yaml: shot 1A: action: block: explosions trip this studio's reviewers" in out.output
    with pytest.raises(PromptRefused, match="shot 1A: the clip prompt .* refused before paying"):
        check_before_paying(example_film, "A car explodes.", "local:local-ffmpeg-v1", "clip", shot="1A",
                            with_references=True)


def test_a_broken_rules_file_is_a_line_not_a_traceback(example_film):
    _rules(example_film, '[[rules]]\nid = "x"\nseverity = "maybe"\npattern = "a"\n')
    out = runner.invoke(app, ["check", str(example_film)])
    assert out.exit_code == 1 and "prompt_rules.toml: file: " in out.output and "severity must be" in out.output
    assert "Traceback" not in out.output
