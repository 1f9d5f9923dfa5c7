"""A film's ComfyUI workflows are checked before anything runs (issue 41): `slate check` reads them
offline and names the file and the node of every problem; `slate doctor` (and every run, before its
first call) holds them to the server — a node type it lacks is named by workflow and node — and
says the server's free VRAM. Run through the command line, as a film-maker runs them.
"""
from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from slate.cli import app
from slate.providers.comfyui_workflow import WorkflowError, load
from slate.providers.storage_local import LocalStorage

runner = CliRunner()


def check(film, *args):
    return runner.invoke(app, ["check", str(film), "--provider", "comfyui", *args])


def edit(film, name, change):
    path = film / "comfyui" / name
    if name.endswith(".json"):
        graph = json.loads(path.read_text())
        change(graph)
        path.write_text(json.dumps(graph))
    else:
        path.write_text(change(path.read_text()))


def test_the_examples_workflows_pass(example_film, provider_keys):
    out = check(example_film)
    assert out.exit_code == 0, out.output
    assert "panels comfyui:panel-qwen-edit, video comfyui:video-wan21" in out.output


def test_slate_check_names_the_file_and_the_node_of_each_problem(example_film):
    def broken_video(graph):
        del graph["50"]["class_type"]                    # a node with no type
        graph["3"]["inputs"]["model"] = ["99", 0]        # a link to no node
    edit(example_film, "video-wan21.json", broken_video)
    edit(example_film, "video-wan21.toml", lambda t: t.replace('output = "58"', 'output = "60"')
         .replace('seed = "3.seed"', 'seed = "3.noise_seed"'))
    edit(example_film, "panel-qwen-edit.json", lambda g: g.update({"6": {"class_type": "CLIPTextEncode",
                                                                          "inputs": {"clip": ["38", 0]}}}))
    out = check(example_film)
    assert out.exit_code == 1, out.output
    said = out.output
    assert "comfyui/video-wan21.json: node 50: not a node: it needs a class_type and an inputs object" in said
    assert "comfyui/video-wan21.json: node 3 (KSampler): input 'model' links node 99, which is not in the workflow" \
        in said
    assert "comfyui/video-wan21.toml: output: node '60' is not in comfyui/video-wan21.json" in said
    assert "comfyui/video-wan21.toml: inputs.seed: node 3 (KSampler) has no input 'noise_seed'" in said
    assert "comfyui/panel-qwen-edit.toml: inputs.prompt: node 6 (CLIPTextEncode) has no input 'prompt'" in said


def test_a_workflow_exported_in_the_ui_format_is_refused_saying_how_to_export_it(example_film):
    (example_film / "comfyui" / "panel-qwen-edit.json").write_text(json.dumps({"nodes": [], "links": [], "version": 0.4}))
    out = check(example_film)
    assert out.exit_code == 1
    assert "comfyui/panel-qwen-edit.json: file: this is ComfyUI's UI format (nodes and links): export the workflow with " \
           "Export (API) instead" in out.output


def test_a_start_end_shot_on_a_workflow_without_an_end_frame_is_refused_on_the_shot(example_film):
    edit(example_film, "video-wan21.toml",
         lambda t: t.replace('end_image = "52.image"\n', "").replace('without_end = ["52", "54"]', "without_end = []"))
    out = check(example_film)
    assert out.exit_code == 1
    start_end = [s["id"] for s in yaml.safe_load((example_film / "scenes" / "scene-01.yaml").read_text())["shots"]
                 if s.get("frame_mode") == "start_end"]
    for shot in start_end:
        assert f"scenes/scene-01.yaml: shot {shot}: frame_mode: start_end, and comfyui:video-wan21's workflow " \
               f"(comfyui/video-wan21.toml) maps no end_image" in out.output


def test_a_workflow_the_film_names_is_looked_for_in_its_folder_and_named_when_absent(example_film):
    out = check(example_film, "--video-model", "comfyui:video-ltx")
    assert out.exit_code == 1
    assert "comfyui/video-ltx.json: file: not in the film" in out.output


def test_a_model_name_is_never_a_path_out_of_the_folder(example_film):
    out = check(example_film, "--video-model", "comfyui:video-../../secrets")
    assert out.exit_code == 1 and "unknown video model" in out.output
    try:
        load(LocalStorage(example_film), "video-..")
    except WorkflowError as exc:
        assert "is not a workflow name" in str(exc)
    else:
        raise AssertionError("a name with dots was read")


def test_slate_doctor_names_the_node_type_the_server_lacks_and_its_free_vram(example_film, fakes):
    ok = runner.invoke(app, ["doctor", str(example_film), "--provider", "comfyui"])
    assert ok.exit_code == 0, ok.output
    assert "ComfyUI 0.3.fake at " in ok.output and "20.0 GB of 24.0 GB VRAM free" in ok.output
    fakes.faults({"provider": "comfyui", "op": "nodes", "kind": "missing",
                  "data": {"class_type": "WanFirstLastFrameToVideo"}})
    out = runner.invoke(app, ["doctor", str(example_film), "--provider", "comfyui"])
    assert out.exit_code == 1, out.output
    [line] = [ln for ln in out.output.splitlines() if ln.startswith("FAIL") and "comfyui" in ln]
    assert f"comfyui/video-wan21.json: the server at {fakes.url('comfyui')} lacks the node type(s) " \
           f"WanFirstLastFrameToVideo (node 50)" in line, line
    assert "1 blocking problem(s)" in out.output
    assert fakes.jobs("comfyui") == []                      # the doctor queues nothing


def test_slate_doctor_names_a_model_file_the_server_lacks(example_film, fakes):
    edit(example_film, "panel-qwen-edit.json", lambda g: g["37"]["inputs"].update(unet_name="flux1-dev.safetensors"))
    out = runner.invoke(app, ["doctor", str(example_film), "--provider", "comfyui"])
    assert out.exit_code == 1, out.output
    assert "comfyui/panel-qwen-edit.json: on the server at" in out.output and \
        "model file 'flux1-dev.safetensors' is missing for node 37 (UNETLoader), its unet_name" in out.output, out.output
    assert "has no node" not in out.output   # the node is there (issue 56)


def _ask_for_a_face_swap(film) -> None:
    path = film / "scenes" / "scene-01.yaml"
    doc = yaml.safe_load(path.read_text())
    next(s for s in doc["shots"] if s["id"] == "1D")["face_swap"] = ["jenny"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_a_face_swap_workflow_is_held_to_the_server_only_where_a_shot_asks_for_one(example_film, fakes):
    # ReActor is a custom node pack: a server without it can still make the example's panels and clips.
    fakes.faults({"provider": "comfyui", "op": "nodes", "kind": "missing", "data": {"class_type": "ReActorFaceSwap"}})
    quiet = runner.invoke(app, ["doctor", str(example_film), "--provider", "comfyui"])
    assert quiet.exit_code == 0 and "faceswap" not in quiet.output, quiet.output
    _ask_for_a_face_swap(example_film)
    out = runner.invoke(app, ["doctor", str(example_film), "--provider", "comfyui"])
    assert out.exit_code == 1, out.output
    assert "comfyui/faceswap-reactor.json: the server at" in out.output and \
        "lacks the node type(s) ReActorFaceSwap (node 30)" in out.output, out.output


def test_slate_check_names_a_broken_face_swap_mapping_only_where_a_shot_asks_for_one(example_film, provider_keys):
    edit(example_film, "faceswap-reactor.toml", lambda t: t.replace('face = "20.image"', 'face = "20.picture"'))
    assert check(example_film).exit_code == 0
    _ask_for_a_face_swap(example_film)
    out = check(example_film)
    assert out.exit_code == 1 and "comfyui/faceswap-reactor.toml: inputs.face: node 20 (LoadImage) has no input " \
                                  "'picture'" in out.output, out.output
