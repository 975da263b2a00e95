"""CORS for the PWA origins only: an origin not on the list gets no Access-Control-* header at all.

Starlette's CORSMiddleware refuses such a preflight with 400 but still lists the allowed methods and
headers, and adds Access-Control-Expose-Headers to its actual requests; a stranger learns nothing here.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send


class PwaCORSMiddleware(CORSMiddleware):
    def preflight_response(self, request_headers: Headers) -> Response:
        if not self.is_allowed_origin(request_headers["origin"]):
            return PlainTextResponse("Disallowed CORS origin", status_code=400, headers={"Vary": "Origin"})
        return super().preflight_response(request_headers)

    async def simple_response(self, scope: Scope, receive: Receive, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("origin")
        if origin is not None and not self.is_allowed_origin(origin):
            # Answered as a request without Origin: the response still varies by Origin, and says so.
            request_headers = Headers(raw=[(k, v) for k, v in request_headers.raw if k != b"origin"])
        await super().simple_response(scope, receive, send, request_headers)
