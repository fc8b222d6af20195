"""Request guard: who may connect, how much they may send, CSRF and security headers.

- Without an access token only loopback clients are served, and only under a loopback
  ``Host`` (so a web page cannot reach the app through DNS rebinding); anything else is 403.
- With a token every request carries it: ``Authorization: Bearer T``, the ``orx_token``
  cookie, or ``?token=T`` (which sets the cookie).
- A body larger than the upload limit is refused with 413, by ``Content-Length`` or while
  it streams.
- Unsafe requests (POST, PUT, PATCH, DELETE) with a cross-site ``Origin`` are refused; form
  posts must carry the CSRF token (double submit: the ``orx_csrf`` cookie and a
  ``csrf_token`` field or ``X-CSRF-Token`` header), see :func:`check_csrf`.
- Every response gets ``Content-Security-Policy`` (same origin only: no CDN), ``X-Frame-Options``,
  ``X-Content-Type-Options``, ``Referrer-Policy`` and friends.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSRF_COOKIE", "TOKEN_COOKIE", "Guard", "check_csrf"]

CSRF_COOKIE = "orx_csrf"
TOKEN_COOKIE = "orx_token"
_LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_SIMPLE_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data: blob:; object-src 'none'; frame-ancestors 'none'; "
        b"base-uri 'self'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class _TooLarge(Exception):
    pass


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


def _host_name(value: str) -> str:
    return (urlsplit(f"//{value}").hostname or "").lower()


def _cookies(scope: Scope) -> dict[str, str]:
    return Request(scope).cookies


async def _send_json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware applying the rules of this module."""

    def __init__(self, app: ASGIApp, *, token: str | None, max_body: int) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body

    def _authorised(self, scope: Scope) -> tuple[bool, bool]:
        """(allowed, set the token cookie)."""
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.token is None:
            client = scope.get("client")
            host = _host_name(headers.get("host", ""))
            return _is_loopback(client[0] if client else None) and _is_loopback(host), False
        given = []
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given.append(auth[7:].strip())
        cookie = _cookies(scope).get(TOKEN_COOKIE)
        if cookie:
            given.append(cookie)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])
        given += query
        ok = any(hmac.compare_digest(g.encode(), self.token.encode()) for g in given)
        return ok, ok and bool(query)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed, set_token = self._authorised(scope)
        if not allowed:
            why = (
                "this server answers only requests from 127.0.0.1 (start it with --token to "
                "serve other hosts)"
                if self.token is None
                else "an access token is required (Authorization: Bearer TOKEN or ?token=TOKEN)"
            )
            await _send_json(send, 403, why)
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        if method in _UNSAFE:
            origin = headers.get("origin")
            # "null" (sandboxed frames, some redirects) is left to the CSRF token check
            if origin and origin != "null":
                if _host_name(urlsplit(origin).netloc) != _host_name(headers.get("host", "")):
                    await _send_json(send, 403, f"cross-site request from {origin} refused")
                    return
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _send_json(
                send, 413, f"request body of {length} bytes is over the limit of {self.max_body}"
            )
            return
        cookies = _cookies(scope)
        new_csrf = None if cookies.get(CSRF_COOKIE) else secrets.token_urlsafe(24)
        if new_csrf is not None:
            # the handlers see the cookie they set, so the first page already has its token
            scope["state"] = {**scope.get("state", {}), "csrf_token": new_csrf}
        received = 0
        started = False
        overflow = False

        async def counted_receive() -> Message:
            nonlocal received, overflow
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    overflow = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if overflow:
                # a body parser may have turned the overflow into a 400: answer 413 instead
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _send_json(
                        send, 413, f"request body is over the limit of {self.max_body}"
                    )
                return
            if message["type"] == "http.response.start":
                started = True
                extra: list[tuple[bytes, bytes]] = list(SECURITY_HEADERS)
                if new_csrf is not None:
                    extra.append(
                        (
                            b"set-cookie",
                            f"{CSRF_COOKIE}={new_csrf}; Path=/; SameSite=Strict; HttpOnly".encode(),
                        )
                    )
                if set_token and self.token is not None:
                    extra.append(
                        (
                            b"set-cookie",
                            f"{TOKEN_COOKIE}={self.token}; Path=/; SameSite=Strict; "
                            "HttpOnly".encode(),
                        )
                    )
                names = {k for k, _ in extra if k != b"set-cookie"}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*kept, *extra]}
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, f"request body is over the limit of {self.max_body}")


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser (set by :class:`Guard` on its first request)."""
    return request.cookies.get(CSRF_COOKIE) or str(request.scope["state"].get("csrf_token", ""))


async def check_csrf(request: Request) -> None:
    """Refuse (403) an unsafe form post whose CSRF token is missing or wrong.

    JSON requests need no token: a cross-site page cannot send ``application/json`` without a
    CORS preflight, which this app never grants. Nor do requests with the access token in an
    ``Authorization`` header (scripts), which a browser never adds by itself.
    """
    from fastapi import HTTPException

    if request.method not in _UNSAFE:
        return
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype not in _SIMPLE_TYPES:
        return
    token = request.app.state.ctx.settings.token
    auth = request.headers.get("authorization", "")
    if (
        token
        and auth.lower().startswith("bearer ")
        and hmac.compare_digest(auth[7:].strip().encode(), token.encode())
    ):
        return  # a script with the access token: browsers never add this header by themselves
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given: Any = request.headers.get("x-csrf-token")
    if given is None and ctype in _SIMPLE_TYPES[:2]:
        form = await request.form()
        given = form.get("csrf_token")
    if not cookie or not isinstance(given, str) or not hmac.compare_digest(given, cookie):
        raise HTTPException(
            status_code=403,
            detail="CSRF token missing or wrong: reload the page and submit the form again",
        )
