"""Property-based fuzzing of the IDX reader (hypothesis).

Whatever bytes a file holds, ``read_idx`` either returns an array of exactly
the shape its header declares, holding exactly its data bytes, or raises the
project's own ``InputError``; never another exception. And it never allocates
much more than the file really holds, whatever its header claims.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import tracemalloc
import zlib

import numpy as np
from conftest import idx_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutorial.errors import InputError
from tutorial.mnist_data import read_idx

# A few hundred examples per test in CI; FUZZ_EXAMPLES=5000 for a longer hunt.
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 300)), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
# Reading goes in 64 KiB chunks; numpy and gzip add a little of their own.
SLACK = 256 * 1024


@st.composite
def valid_idx(draw) -> bytes:
    shape = draw(st.lists(st.integers(0, 6), min_size=1, max_size=4))
    data = draw(st.binary(min_size=math.prod(shape), max_size=math.prod(shape)))
    return idx_bytes(np.frombuffer(data, np.uint8).reshape(shape))


@st.composite
def mutated_idx(draw) -> bytes:
    """A valid file, then a few of: flip a byte, cut it short, add bytes, set a size to any uint32."""
    raw = bytearray(draw(valid_idx()))
    for _ in range(draw(st.integers(1, 3))):
        mutation = draw(st.sampled_from(["flip", "truncate", "append", "size"]))
        if mutation == "flip" and raw:
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        elif mutation == "truncate":
            del raw[draw(st.integers(0, len(raw))):]
        elif mutation == "append":
            raw += draw(st.binary(min_size=1, max_size=20))
        elif mutation == "size" and len(raw) >= 8:
            rank = max(1, min(raw[3], (len(raw) - 4) // 4))
            offset = 4 + 4 * draw(st.integers(0, rank - 1))
            raw[offset:offset + 4] = struct.pack(">I", draw(st.sampled_from([0, 1, 7, 10**9, 2**32 - 1])))
    return bytes(raw)


def declared(raw: bytes) -> tuple[tuple[int, ...], bytes] | None:
    """Shape and data bytes of a well-formed IDX file, else None (an independent, naive parse)."""
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or raw[3] == 0 or len(raw) < 4 + 4 * raw[3]:
        return None
    shape = struct.unpack(f">{raw[3]}I", raw[4:4 + 4 * raw[3]])
    data = raw[4 + 4 * raw[3]:]
    if len(data) != math.prod(shape):
        return None
    try:
        np.empty(shape, np.uint8)  # no bigger than data; fails for shapes like (2**32-1, 2**32-1, 0)
    except ValueError:
        return None
    return shape, data


def check(path, raw: bytes, content: bytes) -> None:
    """``raw`` is what is on disk at ``path``; ``content`` is its (decompressed) IDX bytes."""
    path.write_bytes(raw)
    tracemalloc.start()
    try:
        result = read_idx(path)
    except InputError as err:
        result = err
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < len(content) + SLACK, f"{peak} bytes allocated for a {len(content)}-byte file"
    expected = declared(content)
    if isinstance(result, InputError):
        assert expected is None, f"a valid file was refused: {result}"
    else:
        assert expected is not None, "a malformed file was accepted"
        shape, data = expected
        assert result.dtype == np.uint8 and result.shape == shape
        assert result.tobytes() == data


@FUZZ
@given(raw=st.one_of(st.binary(max_size=64), mutated_idx(), valid_idx()))
def test_plain_files(tmp_path, raw):
    check(tmp_path / "t10k-images-idx3-ubyte", raw, raw)


@FUZZ
@given(content=st.one_of(st.binary(max_size=64), mutated_idx(), valid_idx()))
def test_gzipped_files(tmp_path, content):
    check(tmp_path / "t10k-images-idx3-ubyte.gz", gzip.compress(content, mtime=0), content)


@FUZZ
@given(content=valid_idx(), cut=st.integers(0, 200), flip=st.integers(0, 255), where=st.integers(0, 200))
def test_damaged_gzip_streams(tmp_path, content, cut, flip, where):
    """Cut or corrupted compressed bytes: a InputError or (when the damage missed the data) the right array."""
    raw = bytearray(gzip.compress(content, mtime=0))
    if where < len(raw):
        raw[where] = flip
    raw = bytes(raw[:max(0, len(raw) - cut)])
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(raw)
    try:
        result = read_idx(path)
    except InputError:
        return
    # Accepted only if the bytes still decompress, CRC and all (a flipped header
    # flag can be harmless), to a well-formed file, and then exactly to it.
    decompressed = gzip.decompress(raw)
    shape, data = declared(decompressed)
    assert result.shape == shape and result.tobytes() == data


def test_gzip_bomb_is_cut_off_at_the_declared_size(tmp_path):
    """100 MB of zeros behind a header that says 10 digits: refused after reading 7,841 bytes."""
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 10, 28, 28)
    compressor = zlib.compressobj(9, wbits=31)
    bomb = compressor.compress(header) + b"".join(compressor.compress(bytes(1 << 20)) for _ in range(100))
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(bomb + compressor.flush())
    tracemalloc.start()
    try:
        read_idx(path)
    except InputError as err:
        assert "longer than its header says" in str(err)
    else:
        raise AssertionError("a 100 MB file with a 10-digit header was accepted")
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < SLACK + len(bomb)
