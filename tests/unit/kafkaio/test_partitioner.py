import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from streams.kafkaio.partitioner import key_partition, murmur2


def test_murmur2_agrees_with_the_kafka_client_on_keys_of_every_length() -> None:
    draw = random.Random(7)
    keys = [bytes(draw.randrange(256) for _ in range(size)) for size in range(0, 130)]
    keys += [b"org-1:user_015K63f53Sp08HFPd52cl34x25", "ünïcode:✓".encode()]
    assert [murmur2(key) for key in keys] == [aiokafka_murmur2(key) for key in keys]


def test_a_key_lands_on_the_default_partitioners_partition() -> None:
    draw = random.Random(11)
    partitions = list(range(12))
    for _ in range(500):
        key = draw.randbytes(draw.randrange(1, 80))
        count = draw.randrange(1, 13)
        expected = DefaultPartitioner()(key, partitions[:count], partitions[:count])
        assert key_partition(key, partitions[:count], []) == expected


def test_a_message_without_a_key_goes_to_an_available_partition() -> None:
    assert key_partition(None, [0, 1, 2], [2]) == 2
    assert key_partition(None, [0, 1, 2], []) in {0, 1, 2}
