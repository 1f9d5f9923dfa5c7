"""The run options' one declaration (manifests/options.py) holds every surface derived from it.

Each declared flag is on the command line, each form field on the flows' parameter schemas with
the declared title and description, each setting accepted in slate.toml and by SLATE_*, the
cache key's exclusions are the options that change no output, and a film run of two scenes
checks itself once (the preflight's own log line, counted by a handler on its logger).
"""
from __future__ import annotations

import json
import logging
import re

import pytest
import typer
from typer.testing import CliRunner

from slate.manifests.options import OPTIONS, RUN_IDENTITY, cli_flags, not_output, option
from slate.manifests.settings import Settings, check_settings
from slate.cli import app
from tests.scene_cuts import two_short_scenes

runner = CliRunner()
COMMANDS = {c.name: c for c in typer.main.get_command(app).commands.values()}


def _flags(command: str) -> set[str]:
    return {o for p in COMMANDS[command].params if p.param_type_name == "option" for o in p.opts}


def test_every_declared_flag_is_on_slate_run_and_means_what_is_declared():
    out = " ".join(runner.invoke(app, ["run", "--help"]).output.split())
    run_flags = _flags("run")
    for declared in OPTIONS:
        if declared.flag and declared.name not in ("scene", "max_takes"):   # one scene / takes: a scene run's
            assert declared.flag in run_flags, declared
            assert declared.flag in out and " ".join(declared.cli_help.split()) in out, declared
    # The commands that check or price a run take only declared options (and their own few).
    own = {"--help", "--verbose", "--from-bucket"}
    for command in ("run", "check", "estimate", "doctor"):
        undeclared = _flags(command) - {o.flag for o in OPTIONS} - own
        assert not undeclared, (command, undeclared)


def test_the_cli_bounds_are_the_settings_bounds():
    [param] = [p for p in COMMANDS["run"].params if "--max-parallel-scenes" in p.opts]
    field = Settings.model_fields["max_parallel_scenes"]
    assert (param.min, param.max) == (field.metadata[0].ge, field.metadata[1].le) == (1, 64)
    bad = runner.invoke(app, ["run", "nowhere", "--max-parallel-scenes", "65"])
    assert bad.exit_code == 2 and "64" in bad.output, bad.output


def test_every_form_field_is_declared_titled_and_described():
    from slate.deployments.register import form_schema
    from slate.flows.film import film_flow
    from slate.flows.scene import scene_flow
    from prefect.utilities.callables import parameter_schema

    seen = set()
    for flow in (film_flow, scene_flow):
        props = form_schema(parameter_schema(flow).model_dump(), [])["properties"]
        for name, prop in props.items():
            declared = next(o for o in OPTIONS if o.form == name)   # StopIteration: an undeclared field
            assert prop["title"] == declared.title, (name, prop)
            assert prop["description"].startswith(declared.help), (name, prop)
            seen.add(name)
    assert seen == {o.form for o in OPTIONS if o.form}
    from slate.flows.options import ProviderChoice
    from slate.providers.registry import provider_names
    assert set(provider_names()) <= set(ProviderChoice.__origin__.__args__)


SAMPLES = {str: "local:local-ffmpeg-v1", int: 2, float: 0.5, bool: True}


def test_every_declared_setting_is_accepted_from_slate_toml_and_the_environment(tmp_path, monkeypatch):
    for declared in OPTIONS:
        if declared.setting is None:
            continue
        assert declared.setting in Settings.model_fields, declared
        default = Settings.model_fields[declared.setting].get_default(call_default_factory=True)
        value = str(default) if default not in (None, [], "") else SAMPLES[declared.kind]
        value = [value] if declared.many else value
        toml = json.dumps(value) if isinstance(value, bool) or not isinstance(value, (int, float)) else str(value)
        (tmp_path / "slate.toml").write_text(f"{declared.setting} = {toml}\n")
        settings, problems = check_settings(tmp_path)
        assert not problems and settings is not None, (declared, problems)
        assert getattr(settings, declared.setting) not in (None, []), declared
        (tmp_path / "slate.toml").write_text("")
        monkeypatch.setenv(f"SLATE_{declared.setting.upper()}", json.dumps(value) if declared.many else str(value))
        settings, problems = check_settings(tmp_path)
        assert not problems and getattr(settings, declared.setting) not in (None, []), (declared, problems)
        monkeypatch.delenv(f"SLATE_{declared.setting.upper()}")
    # A misspelt one is told the declared name.
    (tmp_path / "slate.toml").write_text("max_take = 4\n")
    _, problems = check_settings(tmp_path)
    assert "did you mean 'max_takes'?" in str(problems[0]), problems


def test_the_preflight_names_the_declared_flag():
    assert cli_flags()["run_cap_usd"] == "--cap" == option("run_cap_usd").flag


def test_the_cache_key_leaves_out_exactly_what_changes_no_output():
    from slate.tasks.can import NOT_OUTPUT
    from slate.tasks.context import RunSpec
    assert set(NOT_OUTPUT) == set(not_output()) == {"root", "run_id", "run_cap_usd", "film_cap_usd", "price_as",
                                                    "video_slots", "busy_wait_seconds", "local_latency"}
    carried = {o.run_field for o in OPTIONS if o.run_field} | set(RUN_IDENTITY)
    assert carried == set(RunSpec.model_fields), carried ^ set(RunSpec.model_fields)


