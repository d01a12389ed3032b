"""Running ``harness data prepare`` on damaged files and checking how it refuses them.

A refusal is: exit status 2, exactly one line on stderr (``harness: error: ...``, no traceback)
and no file under the data dir. Positions are sampled with a fixed seed so every run checks the
same cases.
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness import cli

SEED = 22
# Address space a damaged file may make the reader reserve beyond what the process has mapped.
# A flipped memo index in a pickle makes CPython's C unpickler grow (and zero) its memo table to
# the index: one case here would take ~16 GB of resident memory. Under this bound it fails with
# MemoryError, which the reader must report as a corrupt file like any other damage.
READ_HEADROOM_BYTES = 3 << 30


@contextmanager
def bounded_address_space(headroom: int = READ_HEADROOM_BYTES) -> Iterator[None]:
    """Lower the soft RLIMIT_AS to the mapped size plus ``headroom`` while the block runs (Linux;
    elsewhere nothing). The hard limit is untouched, so the old soft limit is restored after."""
    try:
        import resource

        status = Path("/proc/self/status").read_text()
    except (ImportError, OSError):
        yield
        return
    mapped_kb = int(re.search(r"^VmSize:\s+(\d+) kB", status, re.M).group(1))
    old = resource.getrlimit(resource.RLIMIT_AS)
    bound = mapped_kb * 1024 + headroom
    if old[1] != resource.RLIM_INFINITY:
        bound = min(bound, old[1])
    resource.setrlimit(resource.RLIMIT_AS, (bound, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, old)


def prepare(capsys, space: str, source: Path, data_dir: Path, *options: str) -> tuple[int, str]:
    """Run ``harness data prepare`` in-process under a bounded address space; return the exit
    status and stderr."""
    capsys.readouterr()
    with bounded_address_space():
        code = cli.main(["data", "prepare", space, "--source", str(source), "--data-dir",
                         str(data_dir), *options])
    return code, capsys.readouterr().err


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def check_clean_refusal(code: int, err: str, data_dir: Path, match: str | None = None) -> str:
    """Assert the refusal contract; return the error line."""
    lines = err.strip().splitlines()
    assert code == 2, f"exit {code}, stderr: {err}"
    assert len(lines) == 1 and lines[0].startswith("harness: error: "), err
    assert "Traceback" not in err
    if match is not None:
        assert re.search(match, lines[0]), lines[0]
    assert files_under(data_dir) == [], "a refused prepare must write nothing"
    return lines[0]


def assert_refused(capsys, space: str, source: Path, data_dir: Path, *options: str,
                   match: str | None = None) -> str:
    code, err = prepare(capsys, space, source, data_dir, *options)
    return check_clean_refusal(code, err, data_dir, match)


def refused_or_accepted(capsys, space: str, source: Path, data_dir: Path,
                        *options: str) -> bool:
    """For damage no checksum covers: a clean refusal, or a (validated) table. True if refused."""
    code, err = prepare(capsys, space, source, data_dir, *options)
    if code == 0:
        shutil.rmtree(data_dir)  # the next case starts from an empty data dir again
        return False
    check_clean_refusal(code, err, data_dir)
    return True


def positions(size: int, count: int, *, salt: int = 0) -> list[int]:
    """``count`` distinct byte positions in ``range(size)`` (all of them if fewer), seeded."""
    if size <= count:
        return list(range(size))
    return sorted(random.Random(SEED + salt).sample(range(size), count))


def flipped(data: bytes, position: int, *, salt: int = 0) -> bytes:
    """``data`` with the byte at ``position`` XOR-ed with a seeded non-zero mask."""
    mask = random.Random(SEED * 1000 + position + salt).randrange(1, 256)
    return data[:position] + bytes([data[position] ^ mask]) + data[position + 1:]
