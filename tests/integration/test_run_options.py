"""A run's options are one value (manifests/options.py `RunOptions`), and every surface is its fields.

Each flag is on the command line with the field's help and bounds, each form field on the flows'
run form with its title and description, each setting accepted in slate.toml and by SLATE_*, the
MCP run tool takes the fields marked for agents, and a scene's key holds exactly the options that
change what is made. And the proof that they are derived, not written again: a toy option added to
a copy of the code as one field reaches all of them with nothing else edited.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import typer
from typer.testing import CliRunner

from slate.cli import app
from slate.manifests.options import RunOptions, bounds, cli_flags, option_names, output_names, told_of
from slate.manifests.settings import Settings, check_settings

runner = CliRunner()
COMMANDS = {c.name: c for c in typer.main.get_command(app).commands.values()}
REPO = Path(__file__).resolve().parents[2]


def _flags(command: str) -> set[str]:
    return {o for p in COMMANDS[command].params if p.param_type_name == "option" for o in p.opts}


def test_every_flag_is_on_slate_run_and_means_what_its_field_says():
    out = " ".join(runner.invoke(app, ["run", "--help"]).output.split())
    run_flags = _flags("run")
    for name in option_names():
        told = told_of(name)
        if told.flag:
            assert told.flag in run_flags, name
            assert " ".join(RunOptions.model_fields[name].description.split()) in out, name
    # The commands that check or price a run take only declared options (and their own few).
    flags = {told_of(n).flag for n in option_names()} | {f"--no-{told_of(n).flag[2:]}" for n in option_names()
                                                         if told_of(n).flag}
    own = {"--help", "--verbose", "--from-bucket"}
    for command in ("run", "check", "estimate", "doctor"):
        undeclared = _flags(command) - flags - own
        assert not undeclared, (command, undeclared)


def test_the_cli_bounds_are_the_fields_bounds():
    [param] = [p for p in COMMANDS["run"].params if "--max-parallel-scenes" in p.opts]
    assert (param.min, param.max) == bounds("max_parallel_scenes") == (1, 64)
    bad = runner.invoke(app, ["run", "nowhere", "--max-parallel-scenes", "65"])
    assert bad.exit_code == 2 and "64" in bad.output, bad.output


def test_money_stays_decimal_from_the_flag():
    """--cap arrives as text and is a Decimal the moment it is an option; never a float."""
    told = RunOptions(run_cap_usd="$0.35")
    assert told.run_cap_usd == Decimal("0.35") and isinstance(told.run_cap_usd, Decimal)
    assert told.told() == {"run_cap_usd": Decimal("0.35")}
    bad = runner.invoke(app, ["estimate", "nowhere", "--cap", "five dollars"])
    assert bad.exit_code == 1 and "command line: --cap:" in bad.output, bad.output
    # A comma only between groups of three digits (issue 56): "1,0,0" was read as $100, "1,50" as $150.
    assert RunOptions(run_cap_usd="$1,250.50").run_cap_usd == Decimal("1250.50")
    for odd in ("1,0,0", "1,50", "12,34.5"):
        bad = runner.invoke(app, ["estimate", "nowhere", "--cap", odd])
        assert bad.exit_code == 1 and "command line: --cap:" in bad.output and "groups of three" in bad.output, \
            bad.output


def test_a_run_dumps_only_what_it_was_told():
    told = RunOptions(profile="final", panel_model="", model_audio="off")
    assert told.model_dump() == {"profile": "final", "model_audio": False}   # "" is not told
    assert RunOptions.model_validate(told.model_dump()).told() == told.told()
    settings = Settings(profile="final")
    assert settings.model_dump()["max_takes"] == 3                       # the film's settings: every value


def test_every_form_field_is_titled_and_described_by_its_field():
    from prefect.utilities.callables import parameter_schema

    from slate.deployments.register import form_schema
    from slate.flows.film import film_flow
    from slate.flows.scene import scene_flow
    for flow in (film_flow, scene_flow):
        form = form_schema(parameter_schema(flow).model_dump(), ["scene-01"])
        assert "options" in form["properties"] and "options" not in form.get("required", [])
        props = form["definitions"]["RunOptions"]["properties"]
        assert set(props) == set(option_names(form=True))
        for name, prop in props.items():
            field = RunOptions.model_fields[name]
            assert prop["title"] == field.title and prop["description"].startswith(field.description), name
            assert "default" not in prop, name        # left empty is not told: the film's value stands
            assert "anyOf" not in prop, name          # no "or null" toggle on a field a person fills


SAMPLES = {str: "local:local-ffmpeg-v1", int: 2, float: 0.5, bool: True, Decimal: "0.5"}


def test_every_setting_is_accepted_from_slate_toml_and_the_environment(tmp_path, monkeypatch):
    for name in option_names(setting=True):
        field = Settings.model_fields[name]
        default = field.get_default(call_default_factory=True)
        kind = type(default) if default not in (None, [], "") else next(
            t for t in SAMPLES if t in (getattr(field.annotation, "__args__", None) or (field.annotation,)))
        value = str(default) if default not in (None, [], "") else SAMPLES[kind]
        value = [value] if told_of(name).many else value
        toml = json.dumps(value) if isinstance(value, (bool, list)) or isinstance(value, str) else str(value)
        (tmp_path / "slate.toml").write_text(f"{name} = {toml}\n")
        settings, problems = check_settings(tmp_path)
        assert not problems and settings is not None, (name, problems)
        assert getattr(settings, name) not in (None, []), name
        (tmp_path / "slate.toml").write_text("")
        monkeypatch.setenv(f"SLATE_{name.upper()}", json.dumps(value) if told_of(name).many else str(value))
        settings, problems = check_settings(tmp_path)
        assert not problems and getattr(settings, name) not in (None, []), (name, problems)
        monkeypatch.delenv(f"SLATE_{name.upper()}")
    # A misspelt one is told the declared name; a run's own (which scenes) is no setting.
    (tmp_path / "slate.toml").write_text("max_take = 4\n")
    _, problems = check_settings(tmp_path)
    assert "did you mean 'max_takes'?" in str(problems[0]), problems
    (tmp_path / "slate.toml").write_text('scenes = ["scene-01"]\n')
    _, problems = check_settings(tmp_path)
    assert problems and "is not a setting" in str(problems[0]), problems


def test_the_preflight_names_the_flag_that_was_typed():
    assert cli_flags()["run_cap_usd"] == "--cap" == told_of("run_cap_usd").flag


def test_a_scenes_key_holds_exactly_what_changes_what_is_made(example_film):
    from slate.tasks.run.can import OUTPUT, run_part
    from tests.runs import a_run
    assert set(OUTPUT) == set(output_names())
    # The passes' models (issue 41) change what is made only where they run — a face swap in a scene
    # that asks for one, an upscale at a profile a person approves — so they key a scene by a part of
    # their own there (tasks/shot/clip_passes.py key_part), never as an option every scene's key holds.
    # What a shot whose line failed keeps (issue 57) changes a cut the can never holds (tasks/run/can.py
    # `cannable`): not keyed either.
    assert set(option_names(output=False)) == {"scenes", "run_cap_usd", "film_cap_usd", "price_as",
                                               "max_parallel_scenes", "video_slots", "busy_wait_seconds",
                                               "faceswap_model", "upscale_model", "pass_models", "dialogue_failure",
                                               "second_judge"}
    base = run_part(a_run(example_film))
    assert run_part(a_run(example_film, "another-run", run_cap_usd="3", price_as="fal")) == base
    assert run_part(a_run(example_film, drift_threshold=0.4)) != base
    # A ladder's second judge (issue 60) keys a scene through its lineup, only where there is one: a
    # film with one judge keeps its keys.
    assert "second_judge" not in base["lineup"]
    assert run_part(a_run(example_film, second_judge="gemini"))["lineup"]["second_judge"] == "gemini:gemini-2.5-flash"
    # A provider's own knob reaches the key as its variant; its latency does not.
    assert run_part(a_run(example_film)) == base
    slow = Settings(providers={"local": {"latency": 3}})
    faulty = Settings(providers={"local": {"fault_rate": 0.5, "fault_seed": 2}})
    from slate.tasks.run.run import run_of
    assert run_part(run_of(example_film, "scene-01", "night-diner", slow, "r"))["variants"] == {}
    assert run_part(run_of(example_film, "scene-01", "night-diner", faulty, "r"))["variants"]["local"]["fault_rate"] == 0.5


def test_a_run_has_no_field_named_after_a_provider():
    from slate.providers.registry import provider_names
    from slate.tasks.run.run import Run
    names = set(Run.model_fields) | set(RunOptions.model_fields)
    assert not [n for n in names for p in provider_names() if n.startswith(f"{p}_") or n == p], names


# -- a toy option, added as one field, reaches every surface -----------------------------------------
TOY = '''
    toy_knob: Annotated[int, Told(flag="--toy-knob", mcp=True)] = Field(
        2, ge=1, le=9, title="Toy knob", description="a toy option the test adds to a copy of the code")
'''

PROBE = textwrap.dedent('''
    import inspect, json, os, sys
    from pathlib import Path
    import slate
    from prefect.utilities.callables import parameter_schema
    from slate.agent.server import told_tool
    from slate.commands.options import argv_of
    from slate.deployments.register import form_schema
    from slate.flows.scene import scene_flow
    from slate.manifests.options import RunOptions
    from slate.manifests.settings import Settings, check_settings
    from slate.tasks.run.can import run_part
    from slate.tasks.run.preflight import preflight
    from slate.tasks.run.run import run_of
    root = Path(sys.argv[1])
    out = {"slate": slate.__file__}
    form = form_schema(parameter_schema(scene_flow).model_dump(), [])["definitions"]["RunOptions"]["properties"]
    out["form"] = form.get("toy_knob")
    (root / "slate.toml").write_text("toy_knob = 7\\n")
    out["toml"] = check_settings(root)[0].toy_knob
    (root / "slate.toml").write_text("toy_knobb = 7\\n")
    out["misspelt"] = [str(p) for p in check_settings(root)[1]]
    (root / "slate.toml").write_text("toy_knob = 7\\n")
    os.environ["SLATE_TOY_KNOB"] = "8"
    out["env"] = check_settings(root)[0].toy_knob
    del os.environ["SLATE_TOY_KNOB"]
    out["told_over_toml"] = preflight(root, RunOptions(toy_knob=5)).settings.toy_knob
    tool = told_tool(lambda options: options.told(), {})
    out["mcp_params"] = list(inspect.signature(tool).parameters)
    out["mcp_told"] = tool(toy_knob=3)
    out["argv"] = argv_of(RunOptions(toy_knob=3))
    keys = [run_part(run_of(root, "scene-01", "night-diner", Settings(toy_knob=v), "r"))["options"] for v in (2, 5)]
    out["key"] = [k.get("toy_knob") for k in keys]
    print(json.dumps(out))
''')


def test_a_toy_option_added_as_one_field_reaches_every_surface(example_film, tmp_path):
    """Copy the code, add `toy_knob` to RunOptions (and nothing else), and follow it: `slate run`'s
    flag with its help and bounds, the run form, slate.toml and SLATE_* (misspelt: "did you mean"),
    told over the film's value, the MCP run tool's arguments, the flags an agent's run is started
    with, and a scene's key."""
    code = tmp_path / "code"
    for top in ("slate", "manifests", "media", "providers", "governor", "tasks", "flows", "deployments"):
        shutil.copytree(REPO / top, code / top, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    options = code / "manifests" / "options.py"
    text = options.read_text()
    anchor = "    @model_validator(mode=\"before\")\n    @classmethod\n    def _untold"
    assert anchor in text
    options.write_text(text.replace(anchor, TOY + "\n" + anchor, 1))
    env = {**os.environ, "PYTHONPATH": str(code)}
    # Run from the copy's parent: `python -m` puts the working folder first on the path.
    helped = subprocess.run([sys.executable, "-m", "slate.cli", "run", "--help"], env=env, capture_output=True,
                            text=True, timeout=120, cwd=tmp_path)
    said = " ".join(helped.stdout.split())
    assert "--toy-knob" in said and "a toy option the test adds" in said, helped.stdout + helped.stderr
    bounded = subprocess.run([sys.executable, "-m", "slate.cli", "run", str(example_film), "--toy-knob", "12"],
                             env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert bounded.returncode == 2 and "less than or equal to 9" in bounded.stderr, bounded.stdout + bounded.stderr
    probed = subprocess.run([sys.executable, "-c", PROBE, str(example_film)], env=env, capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert probed.returncode == 0, probed.stderr[-3000:]
    got = json.loads(probed.stdout.splitlines()[-1])
    assert got["slate"].startswith(str(code))                       # the copy was the one imported
    assert got["form"]["title"] == "Toy knob" and "default" not in got["form"]
    assert got["toml"] == 7 and got["env"] == 8 and got["told_over_toml"] == 5
    assert any("did you mean 'toy_knob'?" in p for p in got["misspelt"]), got["misspelt"]
    assert "toy_knob" in got["mcp_params"] and got["mcp_told"] == {"toy_knob": 3}
    assert got["argv"] == ["--toy-knob=3"]
    assert got["key"] == [2, 5]
