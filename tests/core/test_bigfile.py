"""bigfile.DirectFile: a large output written past the page cache holds exactly the bytes given, at any size and
in any pieces; where O_DIRECT cannot be used it writes through the page cache; a failing disk is an error."""

from __future__ import annotations

import errno
import os
import random

import pytest

from paymatch.bigfile import BLOCK, DirectFile

CHUNK = 4 * BLOCK  # small buffers, so a few KB cross several hand-overs to the writer thread


def _pieces(data: bytes, seed: int):
    rng = random.Random(seed)
    at = 0
    while at < len(data):
        n = rng.choice([1, 7, BLOCK - 1, BLOCK, BLOCK + 1, CHUNK - 3, CHUNK, 3 * CHUNK + 5])
        yield data[at:at + n]
        at += n


@pytest.mark.parametrize("size", [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, CHUNK - 1, CHUNK, CHUNK + 1,
                                  2 * CHUNK, 5 * CHUNK + 123, 37 * BLOCK + 4095])
@pytest.mark.parametrize("direct", [True, False])
def test_the_file_holds_exactly_the_bytes_written(tmp_path, size, direct):
    data = random.Random(size).randbytes(size)
    path = tmp_path / "out.bin"
    path.write_bytes(b"x" * (size + 10_000))  # an older, longer file of that name is replaced, not overwritten
    with DirectFile(path, chunk=CHUNK, direct=direct) as f:
        for piece in _pieces(data, size):
            assert f.write(piece) == len(piece)
    assert path.read_bytes() == data


def test_writes_go_past_the_page_cache_where_the_file_system_allows(tmp_path):
    if not hasattr(os, "O_DIRECT"):
        pytest.skip("no O_DIRECT on this platform")
    probe = os.open(tmp_path / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT)
    os.close(probe)  # (opening with the flag succeeded: the file system takes direct writes)
    data = random.Random(1).randbytes(3 * CHUNK + 17)
    f = DirectFile(tmp_path / "out.bin", chunk=CHUNK)
    f.write(data)
    assert f.direct  # every whole block went out directly
    f.close()
    assert not f.direct  # the last part block went through the page cache
    assert (tmp_path / "out.bin").read_bytes() == data


def test_a_memoryview_and_a_bytearray_are_written_like_bytes(tmp_path):
    data = bytes(range(256)) * 100
    with DirectFile(tmp_path / "a.bin", chunk=CHUNK) as f:
        f.write(memoryview(data)[:10_000])
        f.write(bytearray(data[10_000:]))
    assert (tmp_path / "a.bin").read_bytes() == data


def test_a_full_disk_is_an_error_not_a_short_file():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    f = DirectFile("/dev/full", chunk=CHUNK)
    with pytest.raises(OSError) as err:
        try:
            for _ in range(4):
                f.write(b"a" * CHUNK)
        finally:
            f.close()
    assert err.value.errno == errno.ENOSPC
    assert f.closed


def test_chunk_must_be_whole_blocks(tmp_path):
    with pytest.raises(ValueError):
        DirectFile(tmp_path / "x", chunk=BLOCK + 1)
