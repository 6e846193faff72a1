"""DeliverFiltered's answers for recent blocks: built once, whatever the number of streams."""

from __future__ import annotations

import pytest
from fabric_protos.common import common_pb2

from consortia.protoutil import block as blocks
from consortia.protoutil.transaction import unpack_transaction
from peer import deliver
from tests.support.chain import Channel, make_channel

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Channel:
    return make_channel(tmp_path_factory.mktemp("ch1"))


def block(channel: Channel, number: int, keys: list[str]) -> common_pb2.Block:
    made = blocks.new_block(number, b"\0" * 32, [channel.writes({k: b"v"}).SerializeToString() for k in keys])
    made.metadata.metadata[blocks.TRANSACTIONS_FILTER] = bytes([0, 11][: len(keys)])
    return made


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The numbers of the blocks whose filtered form was built."""
    built: list[int] = []
    real = deliver.filtered_block

    def counting(b: common_pb2.Block, channel_id: str) -> object:
        built.append(int(b.header.number))
        return real(b, channel_id)

    monkeypatch.setattr(deliver, "filtered_block", counting)
    return built


def test_a_block_is_filtered_once_for_every_stream(channel: Channel, builds: list[int]) -> None:
    recent = deliver.RecentFilteredBlocks()
    b = block(channel, 3, ["a", "b"])
    answers = [recent.response(b, "ch1") for _ in range(5)]
    assert builds == [3]
    assert all(answer is answers[0] for answer in answers)
    filtered = answers[0].filtered_block
    assert (filtered.channel_id, filtered.number) == ("ch1", 3)
    assert [t.txid for t in filtered.filtered_transactions] == [unpack_transaction(e).tx_id for e in b.data.data]
    assert [t.tx_validation_code for t in filtered.filtered_transactions] == [0, 11]


def test_other_blocks_under_the_same_number_get_their_own_answer(channel: Channel, builds: list[int]) -> None:
    recent = deliver.RecentFilteredBlocks()
    first, other = block(channel, 3, ["a"]), block(channel, 3, ["c"])
    assert recent.response(first, "ch1").filtered_block.filtered_transactions[0].txid != \
        recent.response(other, "ch1").filtered_block.filtered_transactions[0].txid
    assert recent.response(first, "ch2").filtered_block.channel_id == "ch2"
    assert builds == [3, 3, 3]


def test_only_the_most_recent_blocks_are_kept(channel: Channel, builds: list[int]) -> None:
    recent = deliver.RecentFilteredBlocks(size=2)
    made = [block(channel, n, [f"k{n}"]) for n in range(3)]
    for b in made:
        recent.response(b, "ch1")
    recent.response(made[2], "ch1")
    recent.response(made[0], "ch1")  # dropped when block 2 came: built again
    assert builds == [0, 1, 2, 0]
