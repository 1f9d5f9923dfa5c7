"""Upscale only after approval (issue 41 item 5), the parts that decide before anything runs: which
runs upscale, what an upscale is estimated to cost (tasks/shot/upscale.py `upscale_costs`, the estimate's
"passes $"), and the scene's can key — which names the upscale only where a run upscales, so a
draft, and every film without an upscale model, keeps every key it had.

The keys are the reel's (tasks/run/reel.py `scene_keys`: the scene flow's own), of the example film
and its own upscale workflow (comfyui/upscale-esrgan.json); prices are the packaged rate card's and
a film's own rates.toml row."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from slate.governor.estimate import estimate_film, estimate_scene, lineup_pricing
from slate.governor.policy import TakePolicy
from slate.manifests import load_film
from slate.manifests.settings import Settings, project_settings
from slate.providers.registry import lineup
from slate.tasks.shot.plan import plan_from_project
from slate.tasks.run.reel import scene_keys
from slate.tasks.shot.upscale import UPSCALE, upscale_costs, upscaled_size, upscales

MODEL = "comfyui:upscale-esrgan"
PRICED = ('[models."comfyui:upscale-*"]\nkind = "upscale"\nper_gpu_second = "0.01"\ngpu_seconds_per_second = 30\n'
          'source = "a test\'s rented GPU"\nconfidence = "D"\n')


def _key(root: Path, settings: Settings) -> str:
    film = load_film(root)
    [(key, _)] = scene_keys(root, film, settings, ["scene-01"], TakePolicy(settings.max_takes,
                                                                         settings.no_progress_takes)).values()
    return key


def test_only_a_run_a_person_approves_upscales_and_twice_its_size():
    assert upscales("final", MODEL) and upscales("hero", MODEL)
    assert not upscales("draft", MODEL) and not upscales("final", None)
    assert UPSCALE == 2 and upscaled_size(1280, 720) == (2560, 1440) and upscaled_size(854, 480) == (1708, 960)


def test_a_scene_is_keyed_by_its_upscale_only_where_the_run_upscales(example_film, monkeypatch):
    monkeypatch.delenv("SLATE_FPS", raising=False)
    settings = project_settings(example_film)
    draft, final = settings.model_copy(update={"profile": "draft"}), settings.model_copy(update={"profile": "final"})
    with_model = {"upscale_model": MODEL}
    # a draft with an upscale model is the draft it always was; a final run's key changes with it
    assert _key(example_film, draft.model_copy(update=with_model)) == _key(example_film, draft)
    plain = _key(example_film, final)
    upscaled = _key(example_film, final.model_copy(update=with_model))
    assert upscaled != plain
    # the workflow's bytes are in it: an edited upscale workflow is another scene
    workflow = example_film / "comfyui" / "upscale-esrgan.json"
    workflow.write_text(workflow.read_text().replace('"lanczos"', '"bicubic"'))
    assert _key(example_film, final.model_copy(update=with_model)) not in (plain, upscaled)
    assert _key(example_film, final) == plain


def test_the_estimate_prices_one_upscale_of_each_shot_at_a_final_run_only(example_film, monkeypatch):
    monkeypatch.delenv("SLATE_FPS", raising=False)
    (example_film / "rates.toml").write_text(PRICED)
    film = load_film(example_film)
    settings = project_settings(example_film).model_copy(update={"profile": "final", "upscale_model": MODEL})
    pricing = lineup_pricing(example_film, lineup(settings))
    plans = plan_from_project(film, "scene-01", "final", settings.fps)
    costs = upscale_costs(plans, "final", MODEL, pricing)
    # by the shot's seconds: 30 GPU-seconds a second at $0.01
    assert costs == {p.shot: Decimal("0.30") * Decimal(str(p.duration)) for p in plans}
    assert upscale_costs(plans, "draft", MODEL, pricing) == {} and upscale_costs(plans, "final", None, pricing) == {}
    plain = estimate_scene(plans, pricing, max_takes=3)
    est = estimate_scene(plans, pricing, max_takes=3, passes=costs)
    assert est.passes_cost == sum(costs.values()) and est.total == plain.total + sum(costs.values())
    assert est.high == plain.high + 3 * sum(costs.values())   # each retaken up to max_takes, at the top
    assert est.render_table()[0][-2] == "passes $" and "passes $" not in plain.render_table()[0]
    film_est = estimate_film({"scene-01": plans}, pricing, Decimal("25"), passes={"scene-01": costs})
    assert film_est.by_kind()["passes"] == sum(costs.values())
    assert f"passes ${sum(costs.values()):.2f}" in film_est.range_lines()[0]


SWAP = "comfyui:faceswap-reactor"
SWAP_PRICED = ('[models."comfyui:faceswap-*"]\nkind = "faceswap"\nper_gpu_second = "0.01"\n'
               'gpu_seconds_per_second = 20\nsource = "a test\'s rented GPU"\nconfidence = "D"\n')


def test_a_face_swap_is_priced_once_a_face_beside_the_upscale_only_where_a_shot_asks(example_film, monkeypatch):
    from slate.tasks.shot.clip_passes import costs_by_pass, pass_costs
    monkeypatch.delenv("SLATE_FPS", raising=False)
    (example_film / "rates.toml").write_text(PRICED + "\n" + SWAP_PRICED)
    scene = example_film / "scenes" / "scene-01.yaml"
    scene.write_text(scene.read_text().replace("- id: 1D\n  characters:\n  - gabe\n  - jenny\n",
                                               "- id: 1D\n  face_swap: [gabe, jenny]\n  characters:\n  - gabe\n  - jenny\n"))
    film = load_film(example_film)
    settings = project_settings(example_film).model_copy(update={"profile": "final", "upscale_model": MODEL,
                                                                 "faceswap_model": SWAP})
    pricing = lineup_pricing(example_film, lineup(settings))
    plans = plan_from_project(film, "scene-01", "final", settings.fps)
    swaps = costs_by_pass(plans, "final", {"faceswap": SWAP}, pricing)["faceswap"]
    [d] = [p for p in plans if p.shot == "1D"]
    assert swaps == {"1D": 2 * Decimal("0.20") * Decimal(str(d.duration))}   # two faces, 20 GPU-s a second
    assert costs_by_pass(plans, "final", {}, pricing) == {}
    both = pass_costs(plans, "final", {"faceswap": SWAP, "upscale": MODEL}, pricing)
    assert both["1D"] == swaps["1D"] + upscale_costs(plans, "final", MODEL, pricing)["1D"]
    assert pass_costs(plans, "draft", {"faceswap": SWAP, "upscale": MODEL}, pricing) == swaps     # a draft swaps, and never upscales
