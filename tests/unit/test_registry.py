"""The registry holds every provider to what the rest of slate reads about it.

Each provider module declares one PROVIDER (providers/spec.py); these tests walk whatever the
registry discovers — so a provider added tomorrow is held too — and check it against the rate
card (every model it offers has its row, every row belongs to an offered model), the settings
(its base URL can be set in slate.toml and SLATE_<NAME>_BASE_URL, and a bad one is named), the
keys (read from the variables it declares), the doctor (its checks run and name the variable of a
missing key), its error translation (an error answer reads as the tree's class), and the run form
(the provider enum of the scene and film flows' parameter schema).
"""
from __future__ import annotations

import types

import httpx
import pytest

from slate.governor.ratecard import RateCard
from slate.manifests.settings import check_settings
from slate.providers import registry
from slate.providers.errors import AuthenticationFailed, OutOfCredit, RateLimited, TransientServerError
from slate.providers.keys import MissingKey, provider_key
from slate.providers.registry import UnknownProvider, base_urls, discover, provider_names, specs
from slate.providers.spec import CAPABILITIES, IMAGE, LIPSYNC, Offer, ProviderSpec, SpecError, VIDEO

SPECS = specs()
NETWORKED = [name for name, spec in SPECS.items() if spec.networked]


def _no_provider_env(monkeypatch):
    for spec in SPECS.values():
        for var in spec.key_vars:
            monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(f"SLATE_{spec.name.upper()}_BASE_URL", raising=False)


def test_the_providers_are_discovered_from_their_modules():
    assert provider_names()[0] == "local"
    assert {"local", "gemini", "replicate", "fal", "openrouter", "elevenlabs"} <= set(provider_names())
    for name, spec in SPECS.items():
        assert spec.name == name
        module = (spec.image or spec.video or spec.judge or spec.speech).__module__
        assert module == f"slate.providers.{name}"   # the module that builds it is the one that declares it
    # What code read before the specs is derived from them, not written again.
    assert registry.CATALOGUE == {n: s.catalogue() for n, s in SPECS.items()}
    assert registry.BASE_URLS == {n: s.base_url for n, s in SPECS.items() if s.base_url}
    assert set(registry.BASE_URLS) == set(NETWORKED)


def test_every_model_offered_has_its_rate_card_row_and_every_row_an_offer():
    card = RateCard.load()
    offered = set()
    for name, spec in SPECS.items():
        for capability, offer in spec.offers.items():
            # the film names its own models: ComfyUI's workflows are priced by one row of the pattern;
            # a model server's own ids ("*", issue 60) by the film's rows, never by one of slate's
            if offer.own is not None and offer.own != "*":
                offered.add(f"{name}:{offer.own}")
            for model in offer.models:
                key = f"{name}:{model}"
                assert card.rate(key, capability).kind == capability
                if card.rate(key).key == key:
                    offered.add(key)
    assert set(card.keys()) == offered
    assert set(card.failed_runs) <= set(SPECS)


@pytest.mark.parametrize("name", NETWORKED)
def test_every_networked_provider_takes_its_base_url_from_the_settings(name, tmp_path, monkeypatch):
    _no_provider_env(monkeypatch)
    settings, problems = check_settings(tmp_path)
    assert problems == [] and name not in base_urls(settings)   # its spec's own, then

    (tmp_path / "slate.toml").write_text(f'{name}_base_url = "http://127.0.0.1:1/from-file"\n')
    settings, problems = check_settings(tmp_path)
    assert problems == [] and base_urls(settings)[name] == "http://127.0.0.1:1/from-file"

    monkeypatch.setenv(f"SLATE_{name.upper()}_BASE_URL", "http://127.0.0.1:1/from-env")   # beats the file
    settings, problems = check_settings(tmp_path)
    assert problems == [] and base_urls(settings)[name] == "http://127.0.0.1:1/from-env"
    assert registry.base_url_for(name, base_urls(settings)) == "http://127.0.0.1:1/from-env"
    assert registry.base_url_for(name, {}) == SPECS[name].base_url

    monkeypatch.setenv(f"SLATE_{name.upper()}_BASE_URL", "ftp://127.0.0.1/x")
    settings, problems = check_settings(tmp_path)
    assert settings is None
    assert [(p.file, p.field) for p in problems] == [("environment", f"SLATE_{name.upper()}_BASE_URL")]


def test_a_base_url_for_no_provider_is_named_with_the_closest_one(tmp_path, monkeypatch):
    _no_provider_env(monkeypatch)
    (tmp_path / "slate.toml").write_text('replikate_base_url = "http://127.0.0.1:1/r"\n')
    settings, problems = check_settings(tmp_path)
    assert problems == []   # the form is fine: whether it is a provider is the registry's to say
    with pytest.raises(UnknownProvider, match="did you mean replicate") as caught:
        registry.lineup(settings)
    assert caught.value.setting == "replikate_base_url"


def test_every_job_a_provider_runs_has_an_expected_duration_of_its_own(tmp_path):
    """A clip, and a panel drawn as a job, is waited for three times its model's expected
    duration before it is cancelled — declared by its provider (its spec's `job_seconds`, which
    the model's client reports as `expected_seconds`), never one constant for every model."""
    from slate.providers.spec import job_deadline
    from slate.providers.storage_local import LocalStorage
    storage = LocalStorage(tmp_path)
    for name, spec in SPECS.items():
        for model in spec.models("video"):
            assert model in spec.job_seconds, f"{name}:{model} declares no job_seconds"
            made = registry.build(VIDEO, f"{name}:{model}", storage)
            assert made.expected_seconds == spec.job_seconds[model], (name, model)
            assert registry.expected_job_seconds(f"{name}:{model}", made) == \
                (spec.job_seconds[model], f"{name}'s figure for {model}")
        for model in spec.models("image"):
            made = registry.build(IMAGE, f"{name}:{model}", storage)
            if hasattr(made, "submit_panel"):   # its panels are jobs the governor follows
                assert made.expected_seconds == spec.job_seconds[model], (name, model)
        for model in spec.models("lipsync"):   # issue 38: a lip-sync is a job like a clip
            assert model in spec.job_seconds, f"{name}:{model} declares no job_seconds"
            assert registry.build(LIPSYNC, f"{name}:{model}", storage).expected_seconds == \
                spec.job_seconds[model], (name, model)
    figures = {s.job_seconds[m] for s in SPECS.values() for m in s.models("video")}
    assert len(figures) > 1 and all(60 <= job_deadline(f) <= 1800 for f in figures), figures


def test_slate_toml_gives_a_model_longer_and_a_key_that_is_no_model_is_named(tmp_path, monkeypatch):
    _no_provider_env(monkeypatch)
    (tmp_path / "slate.toml").write_text('[job_seconds]\n"replicate:bytedance/seedance-1-lite" = 4.5\n')
    settings, problems = check_settings(tmp_path)
    assert problems == []
    lite = registry.build(VIDEO, "replicate:bytedance/seedance-1-lite", registry.storage_for(tmp_path))
    assert registry.expected_job_seconds("replicate:bytedance/seedance-1-lite", lite, settings) == \
        (4.5, "slate.toml's [job_seconds]")
    assert registry.job_seconds_told(settings) == {"replicate:bytedance/seedance-1-lite": 4.5}
    (tmp_path / "slate.toml").write_text('[job_seconds]\n"replicate:bytedance/seedance-1-lyte" = 4\n')
    settings, problems = check_settings(tmp_path)
    with pytest.raises(UnknownProvider, match="did you mean replicate:bytedance/seedance-1-lite") as caught:
        registry.job_seconds_told(settings)
    assert caught.value.setting == "job_seconds"
    (tmp_path / "slate.toml").write_text('[job_seconds]\n"replicate:bytedance/seedance-1-lite" = 0\n'
                                         '"seedance-1-lite" = 3\n')
    settings, problems = check_settings(tmp_path)
    said = {p.field: p.message for p in problems}
    assert settings is None and set(said) == {'job_seconds."replicate:bytedance/seedance-1-lite"',
                                              'job_seconds."seedance-1-lite"'}, said
    assert "greater than 0" in said['job_seconds."replicate:bytedance/seedance-1-lite"']
    assert "'seedance-1-lite' is not a `provider:model`" in said['job_seconds."seedance-1-lite"'], said


@pytest.mark.parametrize("name", [n for n in NETWORKED if SPECS[n].key_vars])
def test_every_key_is_read_from_the_variables_its_provider_declares(name, monkeypatch):
    _no_provider_env(monkeypatch)
    first = SPECS[name].key_vars[0]
    with pytest.raises(MissingKey, match=first):
        provider_key(name)
    monkeypatch.setenv(first, f"{name}-key-for-a-test")
    key = provider_key(name)
    assert key.source == first and key.reveal() == f"{name}-key-for-a-test"


@pytest.mark.parametrize("name", list(SPECS))
def test_the_doctor_runs_every_providers_own_checks(name, monkeypatch, tmp_path):
    from slate.tasks.run.doctor import check_lineup
    _no_provider_env(monkeypatch)
    spec = SPECS[name]
    assert spec.doctor is not None, f"{name} declares no doctor checks"
    capability = "video" if "video" in spec.offers else next(iter(spec.offers))
    ref = registry.resolve(name, capability, "draft")
    local = registry.resolve("local", "image", "draft")
    chosen = registry.Lineup(panel=ref if capability == "image" else local,
                             videos=(ref if capability == "video" else registry.resolve("local", "video", "draft"),),
                             judge=ref if capability == "judge" else registry.resolve("local", "judge", "draft"))
    findings = check_lineup(tmp_path, chosen, {}, video_slots=1, voices=(ref,) if capability == "speech" else (),
                            music=(ref,) if capability == "music" else ())
    mine = [f for f in findings if f.provider == name]
    assert {f.check for f in mine} >= {"key", "models"}
    [key] = [f for f in mine if f.check == "key"]
    if spec.key_vars and not spec.key_optional:   # no key in the environment: the line fails and names the variable
        assert not key.ok and key.blocking and spec.key_vars[0] in key.text
    elif spec.key_vars:   # a key it sends when one is set, and needs none: said, not a failure
        assert key.ok and not key.blocking and spec.key_vars[0] in key.text
    else:
        assert key.ok


@pytest.mark.parametrize("name", NETWORKED)
def test_every_networked_provider_translates_its_error_answers_into_the_tree(name):
    translate = SPECS[name].translate_error
    assert translate is not None, f"{name} declares no error translation"
    cases = {429: RateLimited, 401: AuthenticationFailed, 402: OutOfCredit, 503: TransientServerError}
    for status, kind in cases.items():
        error = translate(httpx.Response(status, json={"error": {"message": "as the API says"}}))
        assert type(error) is kind and error.provider == name and error.status == status


def test_the_run_form_offers_every_provider():
    from prefect.utilities.callables import parameter_schema

    from slate.deployments.register import form_schema
    from slate.flows.film import film_flow
    from slate.flows.scene import scene_flow
    for flow in (scene_flow, film_flow):
        form = form_schema(parameter_schema(flow.fn).model_dump(), [])
        enum = form["definitions"]["RunOptions"]["properties"]["provider"]["enum"]
        assert enum == list(provider_names())


# -- what a spec must be, and how discovery fails -------------------------------------------------

def _make(**_):
    return object()


@pytest.mark.parametrize("kwargs, words", [
    (dict(name="two_words"), "lowercase letters and digits"),
    (dict(offers={"video": Offer(("a",), {"final": "b"})}), "default final='b'"),
    (dict(offers={"audio": Offer(("a",))}), "unknown capability"),
    (dict(video=None), "no video factory"),
    (dict(judge=_make), "judge factory but no judge models"),
    (dict(base_url="api.example.com"), r"not an http\(s\) URL"),
    (dict(base_url=None), "a key but no base URL"),
])
def test_a_spec_that_breaks_its_rules_is_refused(kwargs, words):
    good = dict(name="toy", offers={"video": Offer(("a",))}, base_url="https://api.example.com",
                key_vars=("TOY_KEY",), video=_make)
    ProviderSpec(**good)
    with pytest.raises(SpecError, match=words):
        ProviderSpec(**{**good, **kwargs})


class _EntryPoint:
    def __init__(self, name, value, load):
        self.name, self.value, self.load = name, value, load


def test_discovery_names_a_broken_plugin_and_refuses_two_of_one_name():
    def broken():
        raise ImportError("no module named toy_sdk")
    with pytest.raises(SpecError, match=r"entry point toy = toy_vendor: cannot be loaded: ImportError"):
        discover(["slate.providers.local"], [_EntryPoint("toy", "toy_vendor", broken)])
    twin = types.SimpleNamespace(PROVIDER=SPECS["local"])
    with pytest.raises(SpecError, match="'local' is declared twice"):
        discover(["slate.providers.local"], [_EntryPoint("local", "twin_vendor", lambda: twin)])
    with pytest.raises(SpecError, match="declares provider 'local': a provider's module"):
        discover([], [_EntryPoint("twin", "twin_vendor", lambda: twin)])
    plain = types.SimpleNamespace(PROVIDER="toy")
    with pytest.raises(SpecError, match="not a providers.spec.ProviderSpec"):
        discover([], [_EntryPoint("plain", "plain", lambda: plain)])
    assert list(discover(["slate.providers.local"], [])) == ["local"]


def test_every_capability_a_spec_offers_resolves_to_its_default():
    for name, spec in SPECS.items():
        for capability in CAPABILITIES:
            if capability not in spec.offers:
                with pytest.raises(UnknownProvider, match="offers no"):
                    registry.resolve(name, capability, "draft")
                continue
            for profile in ("draft", "final", "hero"):
                ref = registry.resolve(name, capability, profile)
                assert ref.model == spec.offers[capability].model_for(profile)


def test_a_run_on_the_local_provider_imports_no_vendor_module(tmp_path):
    """The index of providers is read without importing them: a local run (an unchanged film's
    re-run above all) pays for no vendor's HTTP stack."""
    import subprocess
    import sys
    code = ("import sys\nfrom slate.manifests.settings import Settings\nfrom slate.providers.registry import lineup, "
            "provider_names\nlineup(Settings()); provider_names()\n"
            "print(sorted(m for m in sys.modules if m in ('slate.providers.gemini', 'slate.providers.replicate', "
            "'slate.providers.fal', 'slate.providers.openrouter', 'slate.providers.elevenlabs', 'httpx')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in __import__("os").environ.items() if not k.endswith("_BASE_URL")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
