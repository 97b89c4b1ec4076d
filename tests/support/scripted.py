"""A tiny scripted Pendo, for answers the fake never gives: `script(method, path, query,
body) -> Answer` decides each one. It keeps every request's headers, to check what the
tap sent."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


class Answer:
    """What the scripted server does for one request."""

    def __init__(self, status=200, body=b"", headers=None, reset=False, cut_at=None, never=False):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.reset = reset  # close the connection without an answer
        self.cut_at = cut_at  # promise the whole body, send this many bytes, close
        self.never = never  # hold the request until the server stops: no answer ever


class ScriptedPendo:
    """An HTTP server on 127.0.0.1:0 answering `script(method, path, query, body)`."""

    def __init__(self, script: Callable):
        self.script = script
        self.requests: list = []  # (method, path, headers)
        self.stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def _handle(self, method):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                path, _, query = self.path.partition("?")
                outer.requests.append((method, path, dict(self.headers)))
                answer = outer.script(method, path, query, body)
                if answer.never:
                    outer.stopping.wait()
                if answer.reset or answer.never:
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                if answer.cut_at is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                if answer.cut_at is not None:
                    self.wfile.write(answer.body[: answer.cut_at])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(answer.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1]

    def __enter__(self) -> ScriptedPendo:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()
