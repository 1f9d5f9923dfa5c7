"""ComfyUI, against its fake over real HTTP (tests/fakes/comfyui.py): what is sent, what comes back,
what each fault does to the money — counted in ledger rows and in the fake's own book of prompts.

The film is the example (its `comfyui/` workflows, as `slate init --example` writes them) with
three panels drawn. What is asserted of the wire is what ComfyUI's server.py does (the module
docstring of providers/comfyui_api.py tags each fact).
"""
from __future__ import annotations

import dataclasses
import io
import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from slate.governor.chokepoint import CallContext, CallSpec, Governor, JobEnded, JobStuck, Usage
from slate.governor.ledger import Cap, Ledger
from slate.governor.ratecard import RateCard
from slate.media import probe
from slate.providers import comfyui
from slate.providers.base import ClipRequest
from slate.providers.errors import BadRequest

FILM = "night-diner"
VIDEO, PANEL = "video-wan21", "panel-qwen-edit"


@pytest.fixture
def bench(painted, fakes, monkeypatch):
    return SimpleNamespace(root=painted.root, storage=painted.storage, panels=painted.requests,
                           start=painted.drawn[0], end=painted.drawn[2], fakes=fakes, url=fakes.url("comfyui"))


def clip(st, *, seconds=2.5, end=False) -> ClipRequest:
    return ClipRequest(prompt="Nina crosses the wet street to the diner door.", start_uri=st.start,
                       end_uri=st.end if end else None, seconds=seconds, width=854, height=480, fps=24,
                       resolution="480p", movement="static", camera_fixed=True, seed=7)


def video(st, model=VIDEO) -> comfyui.ComfyVideo:
    made = comfyui.video(model, storage=st.storage, base_url=st.url,
                         settings=comfyui.ComfySettings(poll_seconds=0.05))
    assert isinstance(made, comfyui.ComfyVideo)
    return made


def image(st, model=PANEL) -> comfyui.ComfyImage:
    made = comfyui.image(model, storage=st.storage, base_url=st.url, settings=comfyui.ComfySettings(poll_seconds=0.05))
    assert isinstance(made, comfyui.ComfyImage)
    return made


def gov(root: Path, run_id: str = "run-1") -> Governor:
    """A governor pricing as a run does: the film's rate card (its own rows over the packaged)."""
    card = RateCard.load(root)
    return Governor(run_id=run_id, film=FILM, root=root, ledger=Ledger.for_project(root),
                    estimate=lambda units, model: card.price(model, units), storage=bench_storage(root),
                    caps=[Cap("run", Decimal("10")), Cap("film", Decimal("100"))],
                    poll_interval=0.05, busy_poll=0.05, retry_wait_cap=0.2, failure_charge=card.failure_charge)


def bench_storage(root: Path):
    from slate.providers.storage_local import LocalStorage
    return LocalStorage(root)


def clip_call(g: Governor, v: comfyui.ComfyVideo, req: ClipRequest, deadline: float = 60):
    s = CallSpec(CallContext(g.run_id, FILM, "scene-01", "1A", "video", 1, "comfyui", v.model, "draft"),
                 Usage("video", seconds=req.seconds, resolution=req.resolution), req.fingerprint())
    return g.job_call(s, submit=lambda ref: v.submit(req, client_ref=ref), poll=v.poll, download=v.download,
                      suffix="mp4", deadline=deadline, poll_interval=0.05, find=v.find_job, cancel=v.cancel)


def panel_call(g: Governor, img: comfyui.ComfyImage, req):
    s = CallSpec(CallContext(g.run_id, FILM, "scene-01", "1A", "panel", 1, "comfyui", img.model, "draft"),
                 Usage("image", images=1), req.fingerprint())
    return g.job_call(s, submit=lambda ref: img.submit_panel(req, client_ref=ref), poll=img.poll,
                      download=lambda job_id, dest: img.download_panel(job_id, dest, req.width, req.height),
                      suffix="png", deadline=60, poll_interval=0.05, find=img.find_job, cancel=img.cancel)


def rows(root: Path):
    return Ledger.for_project(root).rows(film=FILM)


def prompts(fakes) -> list[dict]:
    return [r["body"] for r in fakes.requests("comfyui") if r["method"] == "POST" and r["path"] == "/comfyui/prompt"]


def uploaded(fakes) -> list[dict]:
    return [r for r in fakes.requests("comfyui") if r["path"] == "/comfyui/upload/image"]


def fetched_input(fakes, name: str) -> bytes:
    """An uploaded picture as the fake keeps it (served back by /view?type=input)."""
    got = fakes.http.get("/comfyui/view", params={"filename": name, "type": "input"})
    got.raise_for_status()
    return got.content


def sheet(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (64, 32), (*colour, 255)).save(buf, format="PNG")
    return buf.getvalue()


def same_picture(a: bytes, b: bytes) -> bool:
    return Image.open(io.BytesIO(a)).convert("RGB").tobytes() == Image.open(io.BytesIO(b)).convert("RGB").tobytes()


# -- 1. what goes out, what comes back ------------------------------------------------------------
def test_a_start_end_clip_is_uploaded_filled_queued_followed_and_fetched(bench):
    req = clip(bench, seconds=3.0, end=True)
    got = clip_call(gov(bench.root), video(bench), req)
    [body] = prompts(bench.fakes)
    [row] = rows(bench.root)
    graph, note = body["prompt"], body["extra_data"]["slate"]
    # the prompt id is the job id, chosen from slate's call id, and in the ledger
    assert body["prompt_id"] == row.job_id == comfyui.prompt_id_for(row.call_id)
    assert body["client_id"] == comfyui.CLIENT_ID and note["call"] == row.call_id
    # the mapped inputs, filled: 3 s at the film's 24 fps is 72 frames, asked as Wan's next 4n+1 (73)
    assert graph["6"]["inputs"]["text"] == req.prompt and graph["3"]["inputs"]["seed"] == 7
    assert (graph["50"]["inputs"]["width"], graph["50"]["inputs"]["height"], graph["50"]["inputs"]["length"]) == \
        (854, 480, 73)
    assert graph["57"]["inputs"]["fps"] == 24.0
    # the workflow's own negative prompt and sampler settings are the film's, untouched
    assert graph["7"]["inputs"]["text"].startswith("blurry") and graph["3"]["inputs"]["steps"] == 20
    # each frame uploaded, and named in its LoadImage
    assert same_picture(fetched_input(bench.fakes, graph["51"]["inputs"]["image"]), bench.storage.get_bytes(req.start_uri))
    assert same_picture(fetched_input(bench.fakes, graph["52"]["inputs"]["image"]), bench.storage.get_bytes(req.end_uri))
    assert len(uploaded(bench.fakes)) == 2
    # the clip: the frames asked, at the size and rate asked
    clip_file = bench.storage.open_local(got.uri)
    p = probe(clip_file)
    assert (p.width, p.height, round(p.fps), p.frames) == (854, 480, 24, 73)
    # $0, with the GPU seconds the server's timestamps say it ran (the fake runs 0.3 s)
    assert (row.status, row.actual_cost) == ("succeeded", Decimal(0))
    assert row.usage["kind"] == "video" and 0.25 <= row.usage["gpu_seconds"] <= 0.6, row.usage
    assert len(bench.fakes.jobs("comfyui")) == 1


def test_a_start_only_clip_runs_without_the_end_frames_nodes(bench):
    clip_call(gov(bench.root), video(bench), clip(bench))
    [body] = prompts(bench.fakes)
    graph = body["prompt"]
    assert "52" not in graph and "54" not in graph          # the end loader and its encoding
    flf = graph["50"]["inputs"]
    assert "end_image" not in flf and "clip_vision_end_image" not in flf and flf["start_image"] == ["51", 0]
    assert len(uploaded(bench.fakes)) == 1
    assert graph["50"]["inputs"]["length"] == 61             # 2.5 s at 24 fps: 60, asked as 61


def test_a_panel_is_drawn_from_the_plate_and_its_characters_at_the_panels_size(bench):
    req = next(r for r in bench.panels if len(r.characters) == 1)
    got = panel_call(gov(bench.root), image(bench), req)
    [body] = prompts(bench.fakes)
    graph = body["prompt"]
    assert graph["6"]["inputs"]["prompt"] == req.prompt and graph["3"]["inputs"]["seed"] == req.seed
    assert (graph["11"]["inputs"]["width"], graph["11"]["inputs"]["height"]) == (req.width, req.height)
    assert same_picture(fetched_input(bench.fakes, graph["10"]["inputs"]["image"]), bench.storage.get_bytes(req.plate_uri))
    # its one character's sheet on the first loader; the second loader taken out, and its link with it
    assert same_picture(fetched_input(bench.fakes, graph["20"]["inputs"]["image"]),
                        bench.storage.get_bytes(req.characters[0].turnaround_uri))
    assert "21" not in graph and "image3" not in graph["6"]["inputs"] and graph["6"]["inputs"]["image2"] == ["20", 0]
    assert Image.open(bench.storage.open_local(got.uri)).size == (req.width, req.height)
    [row] = rows(bench.root)
    assert (row.status, row.actual_cost, row.usage["kind"], row.usage["images"]) == ("succeeded", 0, "image", 1)


def test_more_characters_than_loaders_share_the_last_one_one_under_another(bench):
    three = [SimpleNamespace(turnaround_uri=bench.storage.put_bytes(sheet(colour), "png")) for colour in
             ((200, 30, 30), (30, 200, 30), (30, 30, 200))]
    req = dataclasses.replace(bench.panels[0], characters=tuple(
        dataclasses.replace(bench.panels[0].characters[0], id=f"c{i}", turnaround_uri=c.turnaround_uri)
        for i, c in enumerate(three)))
    image(bench).submit_panel(req, client_ref="call-cast")
    graph = prompts(bench.fakes)[0]["prompt"]
    first = Image.open(io.BytesIO(fetched_input(bench.fakes, graph["20"]["inputs"]["image"])))
    rest = Image.open(io.BytesIO(fetched_input(bench.fakes, graph["21"]["inputs"]["image"]))).convert("RGBA")
    assert first.size == (64, 32) and rest.size == (64, 32 + 24 + 32)
    assert rest.getpixel((5, 5))[:3] == (30, 200, 30) and rest.getpixel((5, 60))[:3] == (30, 30, 200)
    assert rest.getpixel((5, 40))[3] == 0                      # the gap between them: nothing


# -- 2. what it costs --------------------------------------------------------------------------------
def test_a_film_that_prices_its_gpu_pays_for_the_seconds_the_job_held_it(bench):
    (bench.root / "rates.toml").write_text('[models."comfyui:video-*"]\nkind = "video"\nper_gpu_second = "0.01"\n'
                                           'gpu_seconds_per_second = 100\nsource = "our box"\nconfidence = "D"\n')
    bench.fakes.faults({"provider": "comfyui", "op": "run", "kind": "slow", "data": {"seconds": 1.0}})
    clip_call(gov(bench.root), video(bench), clip(bench, seconds=2.0))
    [row] = rows(bench.root)
    assert row.estimate == Decimal("2")                       # 2 s x 100 GPU s x $0.01, reserved before
    assert 0.95 <= row.usage["gpu_seconds"] <= 1.3, row.usage  # what the server stamped
    assert row.actual_cost == Decimal(str(row.usage["gpu_seconds"])) * Decimal("0.01")


def test_a_server_that_stamps_no_times_is_priced_at_the_time_slate_saw_it_run(bench):
    bench.fakes.faults({"provider": "comfyui", "op": "run", "kind": "no_stamps"})   # it runs the fake's 0.3 s
    clip_call(gov(bench.root), video(bench), clip(bench))
    [row] = rows(bench.root)
    # from the poll that first saw it run to the one that saw it done: its 0.3 s, give or take the polls
    # and the fake's own encode of the clip on a loaded machine (1.6 s seen) — and far from the
    # estimate's 300 s (120 GPU-seconds a second of clip), which is what an unmeasured job is charged
    assert row.usage is not None and 0.1 <= row.usage["gpu_seconds"] <= 10, row.usage


def test_out_of_memory_is_a_failed_job_said_as_such_with_its_gpu_seconds(bench):
    (bench.root / "rates.toml").write_text('[models."comfyui:video-*"]\nkind = "video"\nper_gpu_second = "0.5"\n'
                                           'gpu_seconds_per_second = 1\nsource = "our box"\nconfidence = "D"\n')
    bench.fakes.faults({"provider": "comfyui", "op": "run", "kind": "oom"})
    with pytest.raises(JobEnded, match="ran out of memory in node 3 \\(KSampler\\)"):
        clip_call(gov(bench.root), video(bench), clip(bench))
    [row] = rows(bench.root)
    assert (row.status, row.error_class) == ("failed", "JobFailed")
    assert row.actual_cost == Decimal(str(row.usage["gpu_seconds"])) * Decimal("0.5") > 0   # it held the GPU
    assert len(bench.fakes.jobs("comfyui")) == 1


# -- 3. refused before it runs -------------------------------------------------------------------------
def test_a_node_type_the_server_lacks_is_refused_at_the_prompt_naming_it_and_costs_nothing(bench):
    bench.fakes.faults({"provider": "comfyui", "op": "nodes", "kind": "missing",
                        "data": {"class_type": "WanFirstLastFrameToVideo"}})
    with pytest.raises(BadRequest, match="Cannot execute because node WanFirstLastFrameToVideo does not exist"):
        clip_call(gov(bench.root), video(bench), clip(bench))
    [row] = rows(bench.root)
    assert (row.status, row.actual_cost, row.error_class) == ("failed", 0, "BadRequest")
    assert bench.fakes.jobs("comfyui") == []


def test_a_model_file_the_server_lacks_is_refused_naming_the_node(bench):
    wf = json.loads((bench.root / "comfyui" / f"{VIDEO}.json").read_text())
    wf["37"]["inputs"]["unet_name"] = "wan2.2_not_here.safetensors"
    (bench.root / "comfyui" / f"{VIDEO}.json").write_text(json.dumps(wf))
    with pytest.raises(BadRequest, match=r"node 37 \(UNETLoader\): Value not in list: unet_name"):
        clip_call(gov(bench.root), video(bench), clip(bench))
    assert bench.fakes.jobs("comfyui") == []


def _with_a_preview(bench, *, spoil: tuple[str, str, object] | None) -> None:
    """The clip workflow with a second output (a SaveImage of the start frame), and one input of
    one node set past its bounds."""
    path = bench.root / "comfyui" / f"{VIDEO}.json"
    wf = json.loads(path.read_text())
    wf["90"] = {"class_type": "SaveImage", "inputs": {"images": ["51", 0], "filename_prefix": "slate/preview"}}
    if spoil is not None:
        node, name, value = spoil
        wf[node]["inputs"][name] = value
    path.write_text(json.dumps(wf))


def test_a_200_whose_node_errors_touch_the_mapped_output_is_refused_at_no_cost_in_comfyuis_words(bench):
    """Issue 56: the real server answers 200 with node_errors when one output fails validation and
    another passes, and runs the other. slate billed the job, then failed its download ("its output
    node made no file") and lost ComfyUI's reason, and the take loop sent the same graph again."""
    _with_a_preview(bench, spoil=("3", "denoise", 1.5))
    with pytest.raises(BadRequest, match=r"node 3 \(KSampler\): Value 1.5 bigger than max of 1.0"):
        clip_call(gov(bench.root), video(bench), clip(bench))
    [row] = rows(bench.root)
    assert (row.status, row.actual_cost, row.error_class) == ("failed", 0, "BadRequest")
    [queued] = prompts(bench.fakes)
    deadline = __import__("time").monotonic() + 10   # taken out, or interrupted at its node's end
    while (answer := bench.fakes.http.get("/comfyui/queue").json())["queue_running"] and \
            __import__("time").monotonic() < deadline:
        __import__("time").sleep(0.05)
    assert answer["queue_running"] == [] and answer["queue_pending"] == []
    ended = bench.fakes.http.get(f"/comfyui/history/{queued['prompt_id']}").json()
    assert ended == {} or (ended[queued["prompt_id"]]["outputs"] == {}
                           and ended[queued["prompt_id"]]["status"]["status_str"] != "success"), ended


def test_node_errors_on_another_branch_leave_the_clip_to_be_made(bench, caplog):
    _with_a_preview(bench, spoil=None)
    path = bench.root / "comfyui" / f"{VIDEO}.json"
    wf = json.loads(path.read_text())   # the preview scaled past ComfyUI's largest size
    wf["91"] = {"class_type": "ImageScale", "inputs": {"image": ["51", 0], "upscale_method": "lanczos",
                                                       "width": 99999, "height": 480, "crop": "disabled"}}
    wf["90"]["inputs"]["images"] = ["91", 0]
    path.write_text(json.dumps(wf))
    import logging
    with caplog.at_level(logging.WARNING, logger="slate"):   # whatever level an earlier test left "slate" at
        got = clip_call(gov(bench.root), video(bench), clip(bench))
    assert probe(bench.storage.open_local(got.uri)).frames > 0
    assert "another output of its workflow failed validation" in caplog.text, caplog.text
    assert "node 91 (ImageScale): Value 99999 bigger than max of 16384" in caplog.text, caplog.text


def test_a_broken_workflow_is_never_sent(bench):
    (bench.root / "comfyui" / f"{VIDEO}.toml").write_text('output = "99"\n[inputs]\nprompt = "6.text"\n')
    with pytest.raises(BadRequest, match=r"output: node '99' is not in comfyui/video-wan21.json"):
        clip_call(gov(bench.root), video(bench), clip(bench))
    assert prompts(bench.fakes) == [] and uploaded(bench.fakes) == []


# -- 4. stopped, lost, found again --------------------------------------------------------------------
def test_a_job_that_never_finishes_is_interrupted_at_its_deadline_and_the_shot_told(bench):
    bench.fakes.faults({"provider": "comfyui", "op": "run", "kind": "stuck"})
    with pytest.raises(JobStuck) as stuck:
        clip_call(gov(bench.root), video(bench), clip(bench), deadline=0.6)
    [row] = rows(bench.root)
    [job] = bench.fakes.jobs("comfyui")
    assert bench.fakes.cancels("comfyui") == [{"provider": "comfyui", "id": job["id"], "model": "workflow",
                                               "outcome": "interrupted"}]
    interrupts = [r["body"] for r in bench.fakes.requests("comfyui") if r["path"] == "/comfyui/interrupt"]
    assert interrupts == [{"prompt_id": job["id"]}]           # that prompt only, never whatever runs
    assert (row.status, row.error_class, row.job_id, stuck.value.job_id) == ("failed", "JobStuck", job["id"], job["id"])
    assert row.usage["gpu_seconds"] >= 0.5                    # it held the GPU until it was stopped


def test_a_waiting_prompt_is_taken_out_of_the_queue_and_a_running_one_interrupted(bench):
    bench.fakes.faults({"provider": "comfyui", "op": "run", "kind": "stuck"})
    v = video(bench)
    running = v.submit(clip(bench), client_ref="call-a")
    waiting = v.submit(clip(bench, seconds=2.0), client_ref="call-b")
    assert (v.poll(running).state, v.poll(waiting).state) == ("running", "queued")
    v.cancel(waiting)
    assert v.poll(waiting) == comfyui.JobStatus("canceled", error="taken out of ComfyUI's queue before it ran", cost="0")
    v.cancel(running)
    ended = _settled(v, running)   # the real server stops it when the node it is in finishes
    assert ended.state == "canceled", ended
    assert [c["outcome"] for c in bench.fakes.cancels("comfyui")] == ["deleted", "interrupted"]
    deletes = [r["body"] for r in bench.fakes.requests("comfyui") if r["path"] == "/comfyui/queue"
               and r["method"] == "POST"]
    assert deletes == [{"delete": [waiting]}]


def _settled(v, job_id: str, within: float = 10.0):
    import time as clock
    until = clock.monotonic() + within
    while (status := v.poll(job_id)).state in ("running", "queued") and clock.monotonic() < until:
        clock.sleep(0.05)
    return status


def test_a_process_that_holds_only_the_prompt_id_follows_and_fetches_the_clip(bench):
    """After a crash the next run has the prompt id from the ledger and nothing else: a new
    client polls and downloads it, reading what was asked from slate's note on the prompt."""
    job = video(bench).submit(clip(bench, seconds=2.0), client_ref="call-a")
    again = video(bench)
    status = again.poll(job)
    while status.state in ("queued", "running"):
        status = again.poll(job)
    assert status.state == "succeeded" and status.usage["seconds"] == 2.0 and status.usage["resolution"] == "480p"
    dest = bench.root / "again.mp4"
    again.download(job, dest)
    assert probe(dest).frames == 49                            # 2 s at 24 fps, as Wan's 4n+1
    assert len(bench.fakes.jobs("comfyui")) == 1


@pytest.mark.parametrize("server", ["takes the prompt id", "makes its own id"])
def test_a_prompt_whose_id_never_reached_the_ledger_is_found_by_the_call_id(bench, server):
    if server == "makes its own id":
        bench.fakes.faults({"provider": "comfyui", "op": "prompt", "kind": "old_server"})
    job = video(bench).submit(clip(bench), client_ref="call-lost")
    assert video(bench).find_job("call-lost") == job             # waiting or running
    v = video(bench)
    while v.poll(job).state in ("queued", "running"):
        pass
    assert video(bench).find_job("call-lost") == job             # and in the history
    assert video(bench).find_job("call-never-sent") is None


def test_an_answer_lost_on_the_way_back_is_found_and_never_queued_twice(bench):
    bench.fakes.faults({"provider": "comfyui", "op": "prompt", "kind": "drop_after"})
    got = clip_call(gov(bench.root), video(bench), clip(bench))
    assert bench.storage.exists(got.uri)
    [row] = rows(bench.root)
    [job] = bench.fakes.jobs("comfyui")
    assert row.status == "succeeded" and row.job_id == job["id"] and len(prompts(bench.fakes)) == 1


def test_a_clip_paid_once_is_not_asked_again(bench):
    req = clip(bench)
    first = clip_call(gov(bench.root), video(bench), req)
    again = clip_call(gov(bench.root, "run-2"), video(bench), req)
    assert again.uri == first.uri and again.reused and len(bench.fakes.jobs("comfyui")) == 1


# -- 5. the doctor ------------------------------------------------------------------------------------
def test_the_doctor_says_the_server_and_its_free_vram(bench):
    lines = {f.check: f for f in comfyui.doctor(base_url=bench.url)}
    assert lines["key"].ok and lines["server"].ok
    assert "ComfyUI 0.3.fake" in lines["server"].text and "20.0 GB of 24.0 GB VRAM free" in lines["server"].text
    [down] = [f for f in comfyui.doctor(base_url="http://127.0.0.1:9") if f.check == "server"]
    assert not down.ok and down.blocking and "does not answer at http://127.0.0.1:9" in down.text


def test_the_doctor_names_a_node_type_the_server_lacks_by_workflow_and_node(bench):
    models = {"image": (PANEL,), "video": (VIDEO,)}
    fine = comfyui.film_doctor(base_url=bench.url, storage=bench.storage, models=models)
    assert [f.ok for f in fine] == [True, True], fine
    bench.fakes.faults({"provider": "comfyui", "op": "nodes", "kind": "missing", "data": {"class_type": "CreateVideo"}})
    found = comfyui.film_doctor(base_url=bench.url, storage=bench.storage, models=models)
    [bad] = [f for f in found if not f.ok]
    assert bad.blocking and bad.text.startswith("comfyui/video-wan21.json: the server at") and \
        "lacks the node type(s) CreateVideo (node 57)" in bad.text
    assert any(f.ok and f.text.startswith("comfyui/panel-qwen-edit.json") for f in found)


def test_a_prompt_id_the_server_already_holds_is_followed_never_queued_again(bench):
    """Issue 56: the real server takes a prompt id it already has and runs the graph again (the
    fake refused it, so no test could see a second run). The fake now does as the server does;
    slate asks /queue and /history for the id first and follows the prompt it already made."""
    up = bench.fakes.http.post("/comfyui/upload/image", files={"image": ("dup.png", sheet((9, 9, 9)), "image/png")})
    assert up.status_code == 200, up.text
    graph = {"1": {"class_type": "LoadImage", "inputs": {"image": up.json()["name"]}},
             "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "dup"}}}
    raw = {"prompt": graph, "client_id": "someone", "prompt_id": "dup-1"}
    assert bench.fakes.http.post("/comfyui/prompt", json=raw).status_code == 200
    assert bench.fakes.http.post("/comfyui/prompt", json=raw).status_code == 200   # the server's way: run twice
    assert len([j for j in bench.fakes.jobs("comfyui") if j["id"] == "dup-1"]) == 2
    v, req = video(bench), clip(bench)
    first = v.submit(req, client_ref="call-1")
    assert v.submit(req, client_ref="call-1") == first            # waiting or running: followed
    while v.poll(first).state not in ("succeeded", "failed"):
        pass
    assert v.submit(req, client_ref="call-1") == first            # finished: in the history, followed
    assert [p["prompt_id"] for p in prompts(bench.fakes)].count(first) == 1



def test_a_server_that_stops_answering_is_said_and_its_job_left_long_before_its_deadline(bench, monkeypatch,
                                                                                        caplog):
    """Issue 56: a ComfyUI server OOM-killed mid-run was not said (its polls failed at INFO), and
    the run sat silent until each job's deadline — up to 30 minutes. Here the prompt is queued on
    the fake, then every poll goes to a port nobody listens on (the server gone): the silence is
    said at WARNING within the bound, and the job ends unknown with its prompt id kept, long before
    its 60 s deadline."""
    import logging
    import socket
    import time as clock

    from slate.governor import chokepoint
    from slate.governor.chokepoint import UnknownOutcome
    monkeypatch.setattr(chokepoint, "SAY_SILENCE", 0.5)
    for memo in ("_SILENCE", "_SILENCE_LAST", "_SILENCE_SAID", "_SILENCE_WAITERS"):   # this test's own, undone after
        monkeypatch.setattr(chokepoint, memo, {})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{s.getsockname()[1]}"
    live, dead = video(bench), comfyui.video(VIDEO, storage=bench.storage, base_url=gone,
                                             settings=comfyui.ComfySettings(poll_seconds=0.05))
    g = dataclasses.replace(gov(bench.root), silence_seconds=2.0)
    req = clip(bench)
    s = CallSpec(CallContext(g.run_id, FILM, "scene-01", "1A", "video", 1, "comfyui", live.model, "draft"),
                 Usage("video", seconds=req.seconds, resolution=req.resolution), req.fingerprint())
    began = clock.monotonic()
    with caplog.at_level(logging.WARNING, logger="slate"), pytest.raises(UnknownOutcome, match="stopped answering"):
        g.job_call(s, submit=lambda ref: live.submit(req, client_ref=ref), poll=dead.poll, download=dead.download,
                   suffix="mp4", deadline=60, poll_interval=0.05, find=dead.find_job, cancel=dead.cancel)
    assert clock.monotonic() - began < 30
    assert any("comfyui stopped answering at" in r.getMessage() and "1 job(s) wait on it: shot 1A video take 1"
               in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING), caplog.text
    [row] = rows(bench.root)
    assert row.status == "unknown" and row.job_id == prompts(bench.fakes)[0]["prompt_id"]   # kept for the next run
