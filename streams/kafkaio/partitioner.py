"""Kafka's default key partitioning (the Java client's murmur2), word by word.

A large first collection sends one message per member, usage series and state entry; with
aiokafka's murmur2, which reads the key byte by byte, hashing keys took a quarter of the
poller's publishing time. This one reads four bytes at a time (a third of the time per key)
and puts every key on the partition any Kafka client's default partitioner chooses.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence

_SEED = 0x9747B28C
_MULTIPLIER = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """The 32-bit MurmurHash2 of ``data`` with Kafka's seed, as an unsigned int."""
    length = len(data)
    whole = length & ~3
    hashed = _SEED ^ length
    for (word,) in struct.iter_unpack("<I", data[:whole]):
        word = (word * _MULTIPLIER) & _MASK
        word = ((word ^ (word >> 24)) * _MULTIPLIER) & _MASK
        hashed = ((hashed * _MULTIPLIER) & _MASK) ^ word
    rest = length & 3
    if rest == 3:
        hashed ^= data[whole + 2] << 16
    if rest >= 2:
        hashed ^= data[whole + 1] << 8
    if rest:
        hashed = ((hashed ^ data[whole]) * _MULTIPLIER) & _MASK
    hashed ^= hashed >> 13
    hashed = (hashed * _MULTIPLIER) & _MASK
    return hashed ^ (hashed >> 15)


def key_partition(
    key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
) -> int:
    """The partition for ``key`` (a producer's ``partitioner``): Kafka's default choice;
    a message without a key goes to any available partition."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]
