"""The edges every real provider shares: keys, HTTP turned into the error tree, safe downloads,
and what the governor does with what comes back (retries of refused sends, usage pricing,
billed bad outputs).

HTTP translation is driven through httpx's own test seam (MockTransport: a real httpx client,
a handler standing in for the network); downloads go over real HTTP to a small server on
127.0.0.1 that these tests start and stop.
"""
from __future__ import annotations

import io
import logging
import pickle
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from PIL import Image

from slate.governor.chokepoint import Answer, CallContext, CallSpec, Governor, Usage, add_listener
from slate.governor.ledger import Cap, Ledger
from slate.media import render_clip
from slate.providers import download, http
from slate.providers.errors import (AuthenticationFailed, BadOutput, BadRequest, OutOfCredit, ProviderTimeout,
                                    ProviderUnreachable, RateLimited, RefusedByModeration, TransientServerError)
from slate.providers.keys import MissingKey, RedactKeys, install_log_redaction, provider_key, redact
from slate.providers.storage_local import LocalStorage

pytestmark = pytest.mark.usefixtures("local_calls")


# -- keys -----------------------------------------------------------------------------------------

def test_a_key_comes_from_its_variable_and_never_shows(monkeypatch):
    secret = "r8_" + "k3y" * 8
    monkeypatch.setenv("REPLICATE_API_TOKEN", secret)
    key = provider_key("replicate")
    assert key.reveal() == secret and key.source == "REPLICATE_API_TOKEN" and len(key.id) == 10
    assert secret not in repr(key) + str(key) + f"{key}"
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert redact(f"Authorization: Bearer {secret}") == "Authorization: Bearer ***"
    record = logging.LogRecord("slate", logging.INFO, __file__, 1, "sent %s", (secret,), None)
    RedactKeys().filter(record)
    assert secret not in record.getMessage()
    install_log_redaction()
    caught = []

    class Keep(logging.Handler):
        def emit(self, record):
            caught.append(record.getMessage())

    logger = logging.getLogger("slate.providers.some.child")  # a child: filters on parents never see it
    logger.addHandler(Keep())
    logger.warning("the provider said: bad token %s", secret)
    assert caught == ["the provider said: bad token ***"]


def test_a_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    from prefect.server.api.server import SubprocessASGIServer
    started = dict(SubprocessASGIServer._instances)
    with pytest.raises(MissingKey, match="set GEMINI_API_KEY or GOOGLE_API_KEY"):
        provider_key("gemini")
    assert issubclass(MissingKey, AuthenticationFailed)  # the run halts on it
    # No Prefect server configured: no Secret block looked for, so no server of Prefect's own started for it.
    assert SubprocessASGIServer._instances == started


# -- HTTP into the error tree ---------------------------------------------------------------------

def answer(status, body=None, headers=None):
    def handler(request):
        return httpx.Response(status, json=body if isinstance(body, (dict, list)) else None,
                              text=body if isinstance(body, str) else None, headers=headers)
    return handler


@pytest.mark.parametrize("status,body,headers,cls,words", [
    (429, {"detail": "Request was throttled. Your rate limit resets in ~30s."}, None, RateLimited, "throttled"),
    (429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota",
                     "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "47s"}]}},
     None, RateLimited, "RESOURCE_EXHAUSTED"),
    (429, "slow down", {"Retry-After": "12"}, RateLimited, "slow down"),
    (401, {"title": "Unauthenticated", "detail": "You did not pass a valid authentication token", "status": 401},
     None, AuthenticationFailed, "valid authentication token"),
    (402, {"title": "Insufficient credit", "detail": "You have insufficient credit to run this model."}, None,
     OutOfCredit, "insufficient credit"),
    (403, {"error": {"code": 403, "message": "Key limit exceeded (total limit). Manage it using "
                                             "https://openrouter.ai/settings/keys"}}, None, OutOfCredit,
     "Key limit exceeded"),
    (403, {"detail": "User is locked. Reason: Exhausted balance"}, None, OutOfCredit, "Exhausted balance"),
    (403, {"detail": "forbidden"}, None, AuthenticationFailed, "forbidden"),
    (422, {"detail": [{"loc": ["body", "prompt"], "msg": "flagged", "type": "content_policy_violation"}]}, None,
     RefusedByModeration, "content_policy_violation"),
    (422, {"detail": "- input.aspect_ratio: aspect_ratio must be one of the following", "status": 422,
           "title": "Input validation failed"}, None, BadRequest, "aspect_ratio"),
    (500, {"detail": "boom"}, None, TransientServerError, "boom"),
    (503, {"detail": "Request timed out", "error_type": "request_timeout"}, None, TransientServerError, "timed out"),
    (504, {"detail": "Request timed out"}, None, ProviderTimeout, "timed out"),
])
def test_every_status_becomes_its_error(status, body, headers, cls, words):
    with httpx.Client(base_url="http://127.0.0.1:9", transport=httpx.MockTransport(answer(status, body, headers))) as c:
        with pytest.raises(cls) as got:
            http.send("replicate", c, "POST", "/predictions", json={})
    assert words in str(got.value) and got.value.status == status and "replicate" in str(got.value)
    if headers:
        assert got.value.retry_after == 12.0
    elif status == 429:
        assert got.value.retry_after in (30.0, 47.0)



def test_a_retry_after_given_as_an_http_date_is_the_seconds_until_then():
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime
    then = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=20), usegmt=True)
    waits = http.retry_after(httpx.Response(429, headers={"Retry-After": then}))
    assert 17 <= waits <= 20
    assert http.retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None

@pytest.mark.parametrize("exc,cls", [
    (httpx.ConnectError("refused"), ProviderUnreachable),
    (httpx.ConnectTimeout("slow"), ProviderUnreachable),
    (httpx.ReadTimeout("slow"), ProviderTimeout),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), TransientServerError),
    (httpx.ReadError("reset by peer"), TransientServerError),
])
def test_transport_failures_say_whether_anything_was_sent(exc, cls):
    def handler(request):
        raise exc
    with httpx.Client(base_url="http://127.0.0.1:9", transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(cls):
            http.send("fal", c, "POST", "/fal-ai/x", json={})
    assert (cls.outcome == "not_run") == (cls is ProviderUnreachable)


def test_under_the_suite_a_base_url_must_be_a_local_fake(monkeypatch):
    monkeypatch.setenv("SLATE_PAID_CALLS_ALLOWED", "replicate")
    with pytest.raises(http.FakeEndpointRequired, match="api.replicate.com"):
        http.client("replicate", "https://api.replicate.com/v1", {})
    http.client("replicate", "http://127.0.0.1:8123/replicate/v1", {}).close()


# -- the governor with what a provider brings back -------------------------------------------------

def gov(root: Path, **kw) -> Governor:
    def estimate(units, model_key):
        if units.kind == "judge":  # $0.30/M in, $2.50/M out
            return (Decimal(units.input_tokens) * Decimal("0.30") + Decimal(units.output_tokens) * Decimal("2.50")) \
                / 1_000_000
        return Decimal("0.04")
    return Governor(run_id="r", film="night-diner", root=root, ledger=Ledger.for_project(root), estimate=estimate,
                    caps=[Cap("run", Decimal(10)), Cap("film", Decimal(10))], storage=LocalStorage(root),
                    retry_wait_cap=0.05, **kw)


def spec(stage="panel", fp="fp"):
    return CallSpec(CallContext("r", "night-diner", "scene-01", "1A", stage, 1, "local", "m", "draft"),
                    Usage("judge", input_tokens=2000, output_tokens=300) if stage == "panel_gate"
                    else Usage("image", images=1), fp)


def test_a_rate_limited_send_waits_and_is_sent_again(example_film):
    refusals = [RateLimited("slow down", retry_after=0.01, provider="x"), ProviderUnreachable("down", provider="x")]
    waits = []
    remove = add_listener(lambda p, _s, d: waits.append(d["wait"]) if p.endswith(":retrying") else None)
    try:
        got = gov(example_film).sync_call(
            spec(), lambda _: (_ for _ in ()).throw(refusals.pop(0)) if refusals else Answer(b"png", "png"))
    finally:
        remove()
    rows = gov(example_film).ledger.rows(film="night-diner")
    assert [r.status for r in rows] == ["failed", "failed", "succeeded"] and got.call_id == rows[-1].call_id
    assert [r.actual_cost for r in rows[:2]] == [0, 0] and waits == [0.01, 0.05]  # the cap bounds the backoff


def test_retries_are_bounded(example_film):
    with pytest.raises(RateLimited):
        gov(example_film, max_retries=2).sync_call(
            spec(), lambda _: (_ for _ in ()).throw(RateLimited("no", retry_after=0.0, provider="x")))
    assert [r.status for r in gov(example_film).ledger.rows(film="night-diner")] == ["failed"] * 3


def test_a_judges_reported_tokens_are_what_it_costs(example_film):
    got = gov(example_film).sync_call(spec("panel_gate"), lambda _: Answer(b"{}", "json", usage={
        "kind": "judge", "input_tokens": 10_000, "output_tokens": 1_000}), repeatable=True)
    row = gov(example_film).ledger.find(got.call_id)
    assert row.estimate == Decimal("0.00135") and row.actual_cost == Decimal("0.0055")


def test_an_unusable_output_is_failed_at_its_estimate(example_film):
    def bad(_):
        raise BadOutput("not a video", provider="x")
    with pytest.raises(BadOutput):
        gov(example_film).sync_call(spec(), bad)
    [row] = gov(example_film).ledger.rows(film="night-diner")
    assert (row.status, row.actual_cost) == ("failed", Decimal("0.04"))


# -- downloads over real HTTP ----------------------------------------------------------------------

class Files(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict, bytes]] = {}
    seen: list[tuple[str, str | None]] = []

    def do_GET(self):  # noqa: N802
        Files.seen.append((self.path, self.headers.get("Authorization")))
        status, headers, body = Files.routes.get(self.path, (404, {}, b"missing"))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def files():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Files.routes, Files.seen = {}, []
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def png(w=64, h=36, fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


def test_loopback_is_refused_unless_allowed_for_fakes(files, tmp_path, monkeypatch):
    Files.routes["/a.png"] = (200, {}, png())
    url = f"http://127.0.0.1:{files}/a.png"
    monkeypatch.delenv("SLATE_ALLOW_LOOPBACK_DOWNLOADS", raising=False)
    with pytest.raises(BadOutput, match="this machine"):
        download.fetch("replicate", url, tmp_path / "a", allowed_hosts=("replicate.delivery",), max_bytes=1 << 20)
    monkeypatch.setenv("SLATE_ALLOW_LOOPBACK_DOWNLOADS", "1")
    assert download.fetch("replicate", url, tmp_path / "a", allowed_hosts=("replicate.delivery",),
                          max_bytes=1 << 20).read_bytes() == png()


@pytest.mark.parametrize("url,words", [
    ("http://replicate.delivery/x.mp4", "not https"),
    ("https://evil.example.com/x.mp4", "not one replicate serves files from"),
    ("https://169.254.169.254/latest/meta-data", "not one replicate serves files from"),
    ("file:///etc/passwd", "not https"),
])
def test_urls_off_the_allow_list_are_refused_before_connecting(url, words, tmp_path):
    with pytest.raises(BadOutput, match=words):
        download.fetch("replicate", url, tmp_path / "x", allowed_hosts=("replicate.delivery",), max_bytes=1 << 20)
    assert not (tmp_path / "x").exists()


def test_an_allowed_name_that_resolves_to_a_private_address_is_refused(tmp_path):
    with pytest.raises(BadOutput, match="not a public address"):
        download.fetch("fal", "https://10.1.2.3/x.mp4", tmp_path / "x", allowed_hosts=("10.1.2.3",), max_bytes=1 << 20)


def test_redirects_are_checked_hop_by_hop_and_keys_stay_home(files, tmp_path, monkeypatch):
    monkeypatch.setenv("SLATE_ALLOW_LOOPBACK_DOWNLOADS", "1")
    Files.routes["/content"] = (302, {"Location": f"http://localhost:{files}/cdn/clip"}, b"")
    Files.routes["/cdn/clip"] = (200, {}, b"bytes of a clip")
    got = download.fetch("openrouter", f"http://127.0.0.1:{files}/content", tmp_path / "c", allowed_hosts=(),
                         max_bytes=1 << 20, auth_headers={"Authorization": "Bearer sk-or-secret"},
                         auth_host="127.0.0.1")
    assert got.read_bytes() == b"bytes of a clip"
    assert Files.seen == [("/content", "Bearer sk-or-secret"), ("/cdn/clip", None)]  # the CDN never sees the key
    Files.routes["/content"] = (302, {"Location": "https://169.254.169.254/latest"}, b"")
    with pytest.raises(BadOutput):
        download.fetch("openrouter", f"http://127.0.0.1:{files}/content", tmp_path / "c", allowed_hosts=("openrouter.ai",),
                       max_bytes=1 << 20)


def test_too_big_is_refused_while_streaming(files, tmp_path, monkeypatch):
    monkeypatch.setenv("SLATE_ALLOW_LOOPBACK_DOWNLOADS", "1")
    Files.routes["/big"] = (200, {}, b"x" * (3 << 20))
    with pytest.raises(BadOutput, match="limit"):
        download.fetch("fal", f"http://127.0.0.1:{files}/big", tmp_path / "b", allowed_hosts=(), max_bytes=1 << 20)


def test_an_expired_output_url_is_the_providers_error(files, tmp_path, monkeypatch):
    monkeypatch.setenv("SLATE_ALLOW_LOOPBACK_DOWNLOADS", "1")
    with pytest.raises(BadRequest):  # 404: the file is gone
        download.fetch("replicate", f"http://127.0.0.1:{files}/gone.mp4", tmp_path / "g", allowed_hosts=(),
                       max_bytes=1 << 20)


def test_what_came_back_is_held_to_what_was_asked(tmp_path):
    assert download.checked_image("gemini", png()) == png()
    jpeg = download.checked_image("gemini", png(fmt="JPEG"))
    assert jpeg.startswith(b"\x89PNG")
    with pytest.raises(BadOutput, match="not a readable image"):
        download.checked_image("gemini", b"<html>an error page</html>")
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, format="PNG")  # 400 MP of nothing: a few kB
    with pytest.raises(BadOutput, match="pixels|not a readable image"):
        download.checked_image("gemini", bomb.getvalue())
    (tmp_path / "still.png").write_bytes(png(320, 180))
    clip = render_clip(tmp_path / "still.png", tmp_path / "clip.mp4", width=320, height=180, fps=12, seconds=1.0,
                       movement="static")
    assert download.checked_video("fal", tmp_path / "clip.mp4", seconds=1.0)
    with pytest.raises(BadOutput, match="shorter than"):
        download.checked_video("fal", tmp_path / "clip.mp4", seconds=3.0)
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all")
    with pytest.raises(BadOutput, match="not a video"):
        download.checked_video("fal", tmp_path / "junk.mp4", seconds=1.0)
    assert clip is not None


def test_an_unreachable_endpoint_is_named_with_its_base_paths_own_path():
    """`slate doctor` said `…:8000/models` for a server at `…:8000/v1`: the message named a URL
    nothing was sent to. It names the one httpx sends to."""
    from slate.providers import http as provider_http
    from slate.providers.errors import ProviderUnreachable
    with provider_http.client("vlm", "http://127.0.0.1:9/v1", {}) as client:
        with pytest.raises(ProviderUnreachable, match=r"http://127\.0\.0\.1:9/v1/models"):
            provider_http.send("vlm", client, "GET", "/models")
