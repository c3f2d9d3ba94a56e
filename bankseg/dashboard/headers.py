"""Response headers that stop other sites from framing the dashboard, as ASGI middleware.

A page that another site can load in an invisible ``<iframe>`` can be clicked through
without the user seeing it (clickjacking): an upload and a segmentation run in the user's
name. Every response (pages, static files, the API, the websocket handshake) says that no
site, this one included, may frame it. Plain ASGI (nothing imported at run time):
``app.py`` adds it to Streamlit's server with ``st.App(middleware=...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS: dict[str, str] = {
    "X-Frame-Options": "DENY",  # no framing at all (older browsers)
    "Content-Security-Policy": "frame-ancestors 'none'",  # the same, for current browsers
    "X-Content-Type-Options": "nosniff",  # a file is run only as what its type says
    "Referrer-Policy": "no-referrer",  # links out never carry the dashboard's address
}

# The ASGI messages that start a response: HTTP, a websocket's acceptance, a refused websocket.
_STARTS = ("http.response.start", "websocket.accept", "websocket.http.response.start")


class SecurityHeaders:
    """ASGI middleware: add :data:`SECURITY_HEADERS` to every response, replacing any header
    of the same name that the application set."""

    def __init__(self, app: ASGIApp, headers: dict[str, str] = SECURITY_HEADERS) -> None:
        self.app = app
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self.names = {name for name, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] in _STARTS:
                kept = [(k, v) for k, v in message.get("headers", ()) if bytes(k).lower() not in self.names]
                message = {**message, "headers": kept + self.headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
