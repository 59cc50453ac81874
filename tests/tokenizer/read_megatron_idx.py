#!/usr/bin/env python3
"""Read a Megatron-LM index (.idx, MMIDIDX version 1) independently of winnow.

    read_megatron_idx.py PATH.idx|PREFIX

The layout is that of megatron/core/datasets/indexed_dataset.py: the 9-byte
magic b"MMIDIDX\\0\\0", u64 version 1, u8 dtype code, u64 sequence count S, u64
count D of document indices, then int32 lengths[S], int64 byte offsets[S]
into the .bin, and int64 document indices[D] (0 first, S last: D is the
number of documents plus one).  All little-endian.

Checks the structure (magic, version, size, offsets following the lengths,
document indices from 0 to S) and, when the .bin is beside it, that its size
is the lengths' sum times the dtype's size.  Prints

    sequences: S
    documents: D-1
    tokens: T
    dtype: NAME

and exits 0; on a problem, prints it on stderr and exits 1.  Uses numpy when
it is installed, the struct module otherwise.
"""
import os
import struct
import sys

MAGIC = b"MMIDIDX\x00\x00"
# Megatron's DType codes and item sizes.
DTYPES = {1: ("uint8", 1), 2: ("int8", 1), 3: ("int16", 2), 4: ("int32", 4),
          5: ("int64", 8), 6: ("float64", 8), 7: ("float32", 4), 8: ("uint16", 2)}

try:
    import numpy
except ImportError:
    numpy = None


def fail(msg):
    sys.stderr.write("read_megatron_idx: %s\n" % msg)
    sys.exit(1)


def arrays(data, s, d):
    off = 34
    if numpy is not None:
        lengths = numpy.frombuffer(data, dtype="<i4", count=s, offset=off).tolist()
        pointers = numpy.frombuffer(data, dtype="<i8", count=s, offset=off + 4 * s).tolist()
        docs = numpy.frombuffer(data, dtype="<i8", count=d, offset=off + 12 * s).tolist()
    else:
        lengths = list(struct.unpack_from("<%di" % s, data, off))
        pointers = list(struct.unpack_from("<%dq" % s, data, off + 4 * s))
        docs = list(struct.unpack_from("<%dq" % d, data, off + 12 * s))
    return lengths, pointers, docs


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: read_megatron_idx.py PATH.idx|PREFIX\n")
        return 2
    prefix = argv[1][:-4] if argv[1].endswith(".idx") else argv[1]
    with open(prefix + ".idx", "rb") as f:
        data = f.read()
    if len(data) < 34:
        fail("%d bytes: shorter than the header" % len(data))
    if data[:9] != MAGIC:
        fail("no MMIDIDX magic")
    version, code, s, d = struct.unpack_from("<QBQQ", data, 9)
    if version != 1:
        fail("version %d, not 1" % version)
    if code not in DTYPES:
        fail("unknown dtype code %d" % code)
    name, size = DTYPES[code]
    if len(data) != 34 + 12 * s + 8 * d:
        fail("%d bytes, but S=%d and D=%d make %d" % (len(data), s, d, 34 + 12 * s + 8 * d))
    lengths, pointers, docs = arrays(data, s, d)
    pos = 0
    for i, (n, p) in enumerate(zip(lengths, pointers)):
        if n < 0:
            fail("sequence %d has length %d" % (i, n))
        if p != pos:
            fail("sequence %d starts at byte %d, not %d" % (i, p, pos))
        pos += n * size
    if not docs or docs[0] != 0 or docs[-1] != s or any(a > b for a, b in zip(docs, docs[1:])):
        fail("document indices do not go from 0 to %d" % s)
    tokens = sum(lengths)
    if os.path.exists(prefix + ".bin"):
        bin_size = os.path.getsize(prefix + ".bin")
        if bin_size != tokens * size:
            fail("%s.bin has %d bytes, the index %d" % (prefix, bin_size, tokens * size))
    print("sequences: %d\ndocuments: %d\ntokens: %d\ndtype: %s" % (s, d - 1, tokens, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
