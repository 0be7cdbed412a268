"""TFRecord shards read without TensorFlow: the record framing and the bytes features of a ``tf.train.Example``.

A record is ``uint64 length | uint32 masked_crc32c(length) | payload | uint32 masked_crc32c(payload)``
(little-endian; uncompressed files, as ``data_prep.convert`` writes them). The payload is a serialized
``tf.train.Example``, read here straight from the protobuf wire format: only what the evaluation figures need
(``bytes_list`` features), no protobuf or TensorFlow dependency.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Collection, Iterator
from typing import NamedTuple

from tin_jax.io.errors import DataFormatError

__all__ = ["Record", "bytes_features", "crc32c", "iter_records", "masked_crc32c"]


def _crc32c_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC32C_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), byte by byte: meant for the few records actually used."""
    c = 0xFFFFFFFF
    table = _CRC32C_TABLE
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits, plus 0xa282ead8."""
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class Record(NamedTuple):
    """One record's payload and its stored (masked) CRC, unchecked until :meth:`verify`."""

    payload: bytes
    stored_crc: int
    where: str  # "file: record i", for messages

    def verify(self) -> bytes:
        """The payload, or a DataFormatError if its CRC does not match."""
        if masked_crc32c(self.payload) != self.stored_crc:
            raise DataFormatError(f"{self.where}: payload CRC mismatch (corrupt file)")
        return self.payload


def iter_records(path: str | os.PathLike[str]) -> Iterator[Record]:
    """Every record of a TFRecord file in order; the length CRCs are checked, the payload CRCs left to the caller."""
    name = os.fspath(path)
    with open(name, "rb") as f:
        i = 0
        while header := f.read(12):
            where = f"{name}: record {i}"
            if len(header) < 12:
                raise DataFormatError(f"{where}: truncated header")
            length_bytes, length_crc = header[:8], struct.unpack("<I", header[8:])[0]
            if masked_crc32c(length_bytes) != length_crc:
                raise DataFormatError(f"{where}: length CRC mismatch (not a TFRecord file, or compressed)")
            (length,) = struct.unpack("<Q", length_bytes)
            body = f.read(length + 4)
            if len(body) < length + 4:
                raise DataFormatError(f"{where}: truncated ({len(body)} of {length + 4} bytes)")
            yield Record(body[:length], struct.unpack("<I", body[length:])[0], where)
            i += 1


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise DataFormatError("protobuf: bad varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def _fields(buf: memoryview) -> Iterator[tuple[int, int, memoryview | None]]:
    """(field number, wire type, value of a length-delimited field else None) of one protobuf message."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        wire = tag & 7
        value = None
        if wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            n, pos = _varint(buf, pos)
            value = buf[pos:pos + n]
            pos += n
        else:
            raise DataFormatError(f"protobuf: unsupported wire type {wire}")
        if pos > len(buf):
            raise DataFormatError("protobuf: field runs past the end of its message")
        yield tag >> 3, wire, value


def bytes_features(example: bytes, keys: Collection[str]) -> dict[str, list[bytes]]:
    """The ``bytes_list`` values of the wanted features of a serialized ``tf.train.Example``.

    Example.features (1) -> Features.feature (1, map entries: key 1, value 2) -> Feature.bytes_list (1)
    -> BytesList.value (1). Wanted keys that are absent, or hold another kind of list, are left out.
    """
    out: dict[str, list[bytes]] = {}
    for num, _, features in _fields(memoryview(example)):
        if num != 1 or features is None:
            continue
        for num_e, _, entry in _fields(features):
            if num_e != 1 or entry is None:
                continue
            key, feature = None, None
            for num_kv, _, value in _fields(entry):
                if num_kv == 1 and value is not None:
                    key = bytes(value).decode("utf-8", "replace")
                elif num_kv == 2 and value is not None:
                    feature = value
            if key not in keys or feature is None:
                continue
            for num_f, _, bytes_list in _fields(feature):
                if num_f == 1 and bytes_list is not None:
                    out[key] = [bytes(v) for n, _, v in _fields(bytes_list) if n == 1 and v is not None]
    return out
