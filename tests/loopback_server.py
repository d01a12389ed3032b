"""A loopback HTTP server for the download tests (tests/test_datasets_fetch.py,
tests/test_benchmark_fetch.py): the real pooch path, a cut connection, an unreachable port."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ArchiveServer:
    """Serves one payload at ``/NAME`` (``/archive.tar.gz`` unless told) on 127.0.0.1, honouring
    ``Range: bytes=N-``; ``payload`` may be replaced between requests.

    ``cut_next``: how many of the next GETs send only the first half of what they announce and
    then drop the connection. ``honour_range=False`` answers every GET with the whole payload.
    ``ranges`` records each GET's Range header (None when absent).
    """

    def __init__(self, payload: bytes, *, cut_next: int = 0, honour_range: bool = True,
                 name: str = "archive.tar.gz") -> None:
        self.payload, self.cut_next, self.honour_range = payload, cut_next, honour_range
        self.name = name
        self.ranges: list[str | None] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{self.name}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != f"/{owner.name}":
                    self.send_error(404)
                    return
                range_header = self.headers.get("Range")
                owner.ranges.append(range_header)
                start = 0
                if range_header and owner.honour_range:
                    start = int(range_header.removeprefix("bytes=").split("-")[0])
                body = owner.payload[start:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(owner.payload) - 1}/{len(owner.payload)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if owner.cut_next:
                    owner.cut_next -= 1
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        return Handler

    def __enter__(self) -> "ArchiveServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def unreachable_url(name: str) -> str:
    """A loopback URL whose port nobody listens on: the connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"
