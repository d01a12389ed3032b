"""``fetch`` of CIFAR archives from a local HTTP server: checksum, resume, safe extraction."""

import hashlib
import io
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from datasets_files import write_cifar10

from harness.errors import DatasetError
from harness.plugins.datasets.cifar import CIFAR10
from harness.plugins.datasets.fetch import download


class ArchiveServer:
    """Serves one payload at /archive.tar.gz on 127.0.0.1, honouring ``Range: bytes=N-``.

    ``cut_next``: how many of the next GETs send only the first half of what they announce and
    then drop the connection. ``honour_range=False`` answers every GET with the whole payload.
    ``ranges`` records each GET's Range header (None when absent).
    """

    def __init__(self, payload: bytes, *, cut_next: int = 0, honour_range: bool = True) -> None:
        self.payload, self.cut_next, self.honour_range = payload, cut_next, honour_range
        self.ranges: list[str | None] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/archive.tar.gz"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != "/archive.tar.gz":
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


def tar_gz(members: dict[str, bytes], *, symlink: tuple[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        if symlink:
            info = tarfile.TarInfo(symlink[0])
            info.type, info.linkname = tarfile.SYMTYPE, symlink[1]
            tar.addfile(info)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def cifar_archive(tmp_path_factory) -> bytes:
    folder = write_cifar10(tmp_path_factory.mktemp("source"))
    return tar_gz({f"cifar-10-batches-py/{path.name}": path.read_bytes()
                   for path in sorted(folder.iterdir())})


def md5(payload: bytes) -> str:
    return hashlib.md5(payload).hexdigest()


def test_interrupted_download_resumes_on_the_next_run(tmp_path, cifar_archive):
    with ArchiveServer(cifar_archive, cut_next=1) as server:
        with pytest.raises(DatasetError, match="interrupted.*Run the command again to resume"):
            CIFAR10.fetch(tmp_path, url=server.url, md5=md5(cifar_archive), retries=0)
        part = tmp_path / "cifar10" / "cifar-10-python.tar.gz.part"
        half = len(cifar_archive) // 2
        assert part.stat().st_size == half, "the bytes received before the cut are kept"
        assert not (tmp_path / "cifar10" / "cifar-10-batches-py").exists()
        folder = CIFAR10.fetch(tmp_path, url=server.url, md5=md5(cifar_archive), retries=0)
    assert server.ranges == [None, f"bytes={half}-"], "the second run asks only for the rest"
    assert folder == tmp_path / "cifar10" / "cifar-10-batches-py"
    assert CIFAR10.arrays(tmp_path, "test")[0].shape == (6, 32, 32, 3)
    assert sorted(p.name for p in (tmp_path / "cifar10").iterdir()) == ["cifar-10-batches-py"], \
        "archive, .part and staging folders are gone"


def test_dropped_connection_is_retried_from_where_it_stopped(tmp_path, cifar_archive):
    with ArchiveServer(cifar_archive, cut_next=1) as server:
        CIFAR10.fetch(tmp_path, url=server.url, md5=md5(cifar_archive), retries=1)
        assert server.ranges == [None, f"bytes={len(cifar_archive) // 2}-"]
        CIFAR10.fetch(tmp_path, url=server.url, md5=md5(cifar_archive))
        assert len(server.ranges) == 2, "an existing folder is not downloaded again"
    assert CIFAR10.arrays(tmp_path, "train")[0].shape == (20, 32, 32, 3)


def test_server_ignoring_the_range_gets_a_fresh_download(tmp_path, cifar_archive):
    part = tmp_path / "cifar10" / "cifar-10-python.tar.gz.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"stale bytes")
    with ArchiveServer(cifar_archive, honour_range=False) as server:
        CIFAR10.fetch(tmp_path, url=server.url, md5=md5(cifar_archive))
    assert server.ranges == ["bytes=11-"]
    assert CIFAR10.arrays(tmp_path, "test")[1].tolist() == [9, 8, 7, 6, 5, 4]


def test_checksum_mismatch_deletes_the_download(tmp_path, cifar_archive):
    with ArchiveServer(cifar_archive) as server:
        with pytest.raises(DatasetError, match="corrupt: MD5 .* expected 0{32}"):
            CIFAR10.fetch(tmp_path, url=server.url, md5="0" * 32)
        with pytest.raises(DatasetError, match="HTTP 404"):
            CIFAR10.fetch(tmp_path, url=server.url.replace("archive", "missing"), md5="0" * 32)
    assert list((tmp_path / "cifar10").iterdir()) == []


@pytest.mark.parametrize("members, symlink", [
    ({"cifar-10-batches-py/../../evil.txt": b"x"}, None),
    ({"/tmp/evil.txt": b"x"}, None),
    ({"cifar-10-batches-py/test_batch": b"x"}, ("cifar-10-batches-py/link", "/etc/passwd")),
    ({"other-folder/test_batch": b"x"}, None),
])
def test_unsafe_archives_are_refused(tmp_path, members, symlink):
    archive = tar_gz(members, symlink=symlink)
    with ArchiveServer(archive) as server:
        with pytest.raises(DatasetError, match="refusing to extract|lies outside"):
            CIFAR10.fetch(tmp_path, url=server.url, md5=md5(archive))
    assert not (tmp_path / "evil.txt").exists()
    leftovers = [p.name for p in (tmp_path / "cifar10").iterdir()]
    assert leftovers == ["cifar-10-python.tar.gz"], "no folder or staging dir is left behind"


def test_official_locations_are_the_defaults():
    assert CIFAR10.layout.archive_url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert CIFAR10.layout.archive_md5 == "c58f30108f718f92721af3b95e74349a"


def test_offline_download_says_nothing_was_kept(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DatasetError) as failure:
        download(f"http://127.0.0.1:{port}/x.tar.gz", tmp_path / "x.tar.gz", md5="0" * 32,
                 retries=0, timeout_s=5)
    message = str(failure.value)
    assert "failed before any byte arrived" in message and "offline" in message
    assert "bytes are kept" not in message and not (tmp_path / "x.tar.gz.part").exists()
