"""A real HTTP receiver for webhook tests (POST) and HTTP cache purge tests (BAN): a threaded
server on loopback that records every request and answers from a script (status, headers,
or hang until released)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # wait for Receiver.release before answering


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: deque[Answer] = deque()
        self.arrived = threading.Event()
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                receiver.received.append(Received(self.path, dict(self.headers.items()),
                                                  self.rfile.read(length)))
                answer = receiver.script.popleft() if receiver.script else Answer()
                receiver.arrived.set()
                if answer.hang:
                    receiver.released.wait()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                body = b"ok" if answer.status < 300 else b"nope"
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_BAN = do_POST  # what the HTTP cache purger sends

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
