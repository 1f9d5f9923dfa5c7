"""HTTP to a provider: one way to build the client, one edge where HTTP becomes the error tree.

`client()` builds an httpx client for a provider's base URL (a setting, so a gateway, a proxy or
a local fake can stand in) with the key in a header and no retries of its own: whether a paid
request may be sent again is the governor's decision, from the error tree, never a transport's.
Under the test suite (`SLATE_PAID_CALLS_ALLOWED` set) a base URL that is not this machine is
refused outright, so no test can reach a real provider by accident.

`send()` makes one request and translates what can go wrong, the same way for every provider:

    connect failed / connect timeout     ProviderUnreachable  nothing was sent
    read timeout after sending           ProviderTimeout      the request may have been taken
    connection dropped mid-answer        TransientServerError the request may have been taken
    429                                  RateLimited          with the provider's wait, when it gives one
    401                                  AuthenticationFailed
    402, 403 key limit / balance         OutOfCredit
    403 otherwise                        AuthenticationFailed
    400 404 409 422                      BadRequest           (moderation words: RefusedByModeration)
    408, 504                             ProviderTimeout
    5xx                                  TransientServerError

It must never log or raise a header, a key, or a URL with a query string a key could sit in.
"""
from __future__ import annotations

import ipaddress
import json
import os
import re
import ssl
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import httpx

from slate.providers.errors import (AuthenticationFailed, BadRequest, OutOfCredit, ProviderError, ProviderTimeout,
                                    ProviderUnreachable, RateLimited, RefusedByModeration, TransientServerError)
from slate.providers.keys import redact
from slate.errors import SlateError

TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


class FakeEndpointRequired(SlateError, RuntimeError):
    """Under the test suite, a provider's base URL must be this machine (a fake server)."""


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def guard_endpoint(provider: str, base_url: str) -> None:
    if os.environ.get("SLATE_PAID_CALLS_ALLOWED") is not None and not is_loopback(urlsplit(base_url).hostname):
        raise FakeEndpointRequired(f"{provider}: under the test suite the base URL must be a local fake, "
                                   f"not {urlsplit(base_url).scheme}://{urlsplit(base_url).hostname}")


@lru_cache(maxsize=1)
def tls() -> ssl.SSLContext:
    """One TLS context per process: building one loads the whole CA bundle (about 40 ms of CPU),
    and a client is built per request — every poll of every clip paid it."""
    return httpx.create_ssl_context()


def client(provider: str, base_url: str, headers: dict[str, str], *, timeout: httpx.Timeout = TIMEOUT,
           transport: httpx.BaseTransport | None = None) -> httpx.Client:
    guard_endpoint(provider, base_url)
    return httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport,
                        follow_redirects=False, verify=tls())


def where(url: str | httpx.URL) -> str:
    """A URL as messages may show it: scheme, host and path, never its query."""
    u = httpx.URL(str(url))
    return f"{u.scheme}://{u.host}{':' + str(u.port) if u.port else ''}{u.path}"


MODERATION_WORDS = re.compile(r"content[_ ]policy|flagged as sensitive|\(E005\)|safety|moderation|prohibited",
                              re.IGNORECASE)
CREDIT_WORDS = re.compile(r"key limit exceeded|exhausted balance|insufficient credit|billing required|"
                          r"user is locked|quota exceeded for billing", re.IGNORECASE)


def body_text(response: httpx.Response, limit: int = 600) -> str:
    """The provider's public error words: `detail`, `message`, `error.message`, `title`…"""
    try:
        data = response.json()
    except ValueError:
        return redact(response.text[:limit])
    found: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for k in ("title", "detail", "message", "msg", "error", "type", "status"):
                if k in v:
                    walk(v[k])
        elif isinstance(v, list):
            for item in v[:5]:
                walk(item)
        elif isinstance(v, (str, int)) and str(v) not in found:
            found.append(str(v))

    walk(data)
    return redact("; ".join(found)[:limit] or json.dumps(data)[:limit])


_RESETS_IN = re.compile(r"resets? in ~?\s*(\d+(?:\.\d+)?)\s*s", re.IGNORECASE)
_RETRY_DELAY = re.compile(r'"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"')


def retry_after(response: httpx.Response) -> float | None:
    """How long the provider asks us to wait: Retry-After, Gemini's retryDelay, Replicate's body."""
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
        try:   # Retry-After may be an HTTP date (RFC 9110 §10.2.3)
            when = parsedate_to_datetime(header)
            return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
        except (TypeError, ValueError, OverflowError):
            pass
    text = response.text[:4000]
    for pattern in (_RETRY_DELAY, _RESETS_IN):
        m = pattern.search(text)
        if m:
            return float(m.group(1))
    return None


def error_for(provider: str, response: httpx.Response) -> ProviderError:
    """The error-tree class of a non-2xx answer, with the provider's own words."""
    status = response.status_code
    words = body_text(response)
    if status == 429:
        return RateLimited(f"rate limited: {words}", retry_after=retry_after(response), provider=provider,
                           status=status)
    if status == 401:
        return AuthenticationFailed(f"the key was refused: {words} — check the key (slate doctor)", provider=provider,
                                    status=status)
    if status == 402 or (status == 403 and CREDIT_WORDS.search(words)):
        return OutOfCredit(f"out of credit or over the key's limit: {words} — top up or raise the limit, "
                           f"then run the same command again", provider=provider, status=status)
    if status == 403:
        return AuthenticationFailed(f"forbidden: {words} — check the key (slate doctor)", provider=provider,
                                    status=status)
    if status in (408, 504):
        return ProviderTimeout(f"the provider timed out: {words}", provider=provider, status=status)
    if status >= 500:
        return TransientServerError(f"server error: {words}", provider=provider, status=status)
    if MODERATION_WORDS.search(words):
        return RefusedByModeration(f"refused by moderation: {words}", provider=provider, status=status)
    return BadRequest(f"request refused: {words}", provider=provider, status=status)


def _full(http: httpx.Client, url: str) -> str:
    """The URL a request of `url` goes to, as httpx makes it: a path is put after the base URL's
    own path (`…/v1` + `/models` is `…/v1/models`), never in place of it as `URL.join` would."""
    if "://" in url:
        return url
    return str(http.base_url).rstrip("/") + "/" + url.lstrip("/")


def send(provider: str, http: httpx.Client, method: str, url: str, *, json: object = None,
         translate: Callable[[httpx.Response], ProviderError] | None = None,
         files: dict[str, tuple[str, bytes, str]] | None = None, data: dict[str, str] | None = None,
         params: dict[str, str] | None = None) -> httpx.Response:
    """One request (with a JSON body, or a form of `data` fields and `files` — multipart, as
    ComfyUI's /upload/image takes a picture — when given); a 2xx answer back, or an error of the
    tree (see the module docstring; `translate`: the provider's own reading of an error answer,
    where its API says more than the status — its spec's `translate_error`)."""
    try:
        response = http.request(method, url, json=json, files=files, data=data, params=params)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise ProviderUnreachable(f"could not connect to {where(_full(http, url))}: "
                                  f"{type(exc).__name__}", provider=provider) from None
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(f"no answer from {where(_full(http, url))} in time ({type(exc).__name__})",
                              provider=provider) from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise TransientServerError(f"the connection to {where(_full(http, url))} dropped "
                                   f"({type(exc).__name__})", provider=provider) from None
    if response.status_code >= 400:
        raise translate(response) if translate is not None else error_for(provider, response)
    return response
