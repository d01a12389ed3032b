"""``fetch`` of CIFAR archives from a local HTTP server through pooch: checksum, retries, progress,
no network, a manual download, safe extraction, nothing left behind on failure."""

import hashlib
import io
import tarfile

import pytest
from datasets_files import write_cifar10
from loopback_server import ArchiveServer, unreachable_url

from harness.download import download
from harness.errors import DatasetError
from harness.plugins.datasets.cifar import CIFAR10


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


def test_fetch_downloads_checks_and_extracts_leaving_only_the_folder(tmp_path, cifar_archive,
                                                                     capfd):
    with ArchiveServer(cifar_archive) as server:
        folder = CIFAR10.fetch(tmp_path, url=server.url, md5=md5(cifar_archive))
        CIFAR10.fetch(tmp_path, url=server.url, md5=md5(cifar_archive))
    assert server.ranges == [None], "an existing folder is not downloaded again"
    assert folder == tmp_path / "cifar10" / "cifar-10-batches-py"
    assert CIFAR10.arrays(tmp_path, "test")[0].shape == (6, 32, 32, 3)
    assert sorted(p.name for p in (tmp_path / "cifar10").iterdir()) == ["cifar-10-batches-py"], \
        "archive, temporary and staging files are gone"
    assert "100%" in capfd.readouterr().err, "pooch draws a progress bar on stderr"


def test_dropped_connection_is_retried(tmp_path, cifar_archive):
    with ArchiveServer(cifar_archive, cut_next=1) as server:
        CIFAR10.fetch(tmp_path, url=server.url, md5=md5(cifar_archive), retries=1)
    assert server.ranges == [None, None], "pooch downloads again from the first byte"
    assert CIFAR10.arrays(tmp_path, "train")[0].shape == (20, 32, 32, 3)


def test_a_transfer_cut_every_time_keeps_nothing(tmp_path, cifar_archive):
    data_dir = tmp_path / "data"
    with ArchiveServer(cifar_archive, cut_next=2) as server:
        with pytest.raises(DatasetError, match="was cut off 2 times.*nothing was kept"):
            CIFAR10.fetch(data_dir, url=server.url, md5=md5(cifar_archive), retries=1)
    assert not data_dir.exists(), "the folders the fetch created are removed"


def test_checksum_mismatch_and_http_errors_keep_nothing(tmp_path, cifar_archive):
    with ArchiveServer(cifar_archive) as server:
        with pytest.raises(DatasetError, match="corrupt: its MD5 is not the expected 0{32}"):
            CIFAR10.fetch(tmp_path, url=server.url, md5="0" * 32, retries=0)
        with pytest.raises(DatasetError, match="HTTP 404"):
            CIFAR10.fetch(tmp_path, url=server.url.replace("archive", "missing"), md5="0" * 32)
    assert list(tmp_path.iterdir()) == []


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


def _offline_url() -> str:
    return unreachable_url("cifar-10-python.tar.gz")


def test_offline_says_no_network_with_the_manual_steps_and_leaves_no_folder(tmp_path):
    data_dir = tmp_path / "data"
    with pytest.raises(DatasetError) as failure:
        CIFAR10.fetch(data_dir, url=_offline_url(), md5="0" * 32, retries=0)
    message = str(failure.value)
    archive = data_dir / "cifar10" / "cifar-10-python.tar.gz"
    assert message.startswith("no network: ")
    assert f"check that its MD5 is {'0' * 32}, copy it to {archive}" in message
    assert not data_dir.exists(), "no empty folder is left behind"


def test_a_manually_downloaded_archive_is_checked_and_extracted_offline(tmp_path, cifar_archive):
    archive = tmp_path / "cifar10" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(cifar_archive)
    folder = CIFAR10.fetch(tmp_path, url=_offline_url(), md5=md5(cifar_archive))
    assert folder.is_dir() and not archive.exists()
    assert CIFAR10.arrays(tmp_path, "test")[1].tolist() == [9, 8, 7, 6, 5, 4]


def test_download_alone_checks_the_md5(tmp_path, cifar_archive):
    with ArchiveServer(cifar_archive) as server:
        path = download(server.url, tmp_path / "a.tar.gz", known_hash=f"md5:{md5(cifar_archive)}",
                        progress=False)
    assert path.read_bytes() == cifar_archive
