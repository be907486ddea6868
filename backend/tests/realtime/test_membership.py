"""The hub's routing table: sockets by group, and buckets of sockets by their exact set of groups."""

from realtime.connection import Connection
from realtime.events import FEED_GROUP
from realtime.membership import Membership


async def _discard(message: object) -> None:
    pass


async def _no_close(code: int) -> None:
    pass


def _socket() -> Connection:
    return Connection(_discard, close=_no_close)


def test_sockets_in_the_same_groups_share_one_bucket_and_its_key() -> None:
    members = Membership()
    first, second, other = _socket(), _socket(), _socket()
    members.join(first, FEED_GROUP, "post.1")
    members.join(second, "post.1", FEED_GROUP)
    members.join(other, FEED_GROUP)
    assert first.groups is second.groups
    assert {key: len(sockets) for key, sockets in members.buckets()} == {
        frozenset({FEED_GROUP, "post.1"}): 2,
        frozenset({FEED_GROUP}): 1,
    }
    members.leave(second, "post.1")
    assert second.groups is other.groups, "a socket that leaves moves to the bucket of its new set"
    assert {key: len(sockets) for key, sockets in members.buckets()} == {
        frozenset({FEED_GROUP, "post.1"}): 1,
        frozenset({FEED_GROUP}): 2,
    }


def test_a_group_nobody_is_in_any_more_is_forgotten() -> None:
    members = Membership()
    socket = _socket()
    members.join(socket, FEED_GROUP, "post.2")
    assert members.wanted("post.2") and set(members.of("post.2")) == {socket}
    members.leave(socket, "post.2")
    assert not members.wanted("post.2") and list(members.of("post.2")) == []
    assert set(members.groups()) == {FEED_GROUP}
    assert members.member_counts() == {FEED_GROUP: 1}


def test_leaving_every_group_closes_the_socket_to_the_hub_and_empties_its_bucket() -> None:
    members = Membership()
    leaving, staying = _socket(), _socket()
    for socket in (leaving, staying):
        members.join(socket, FEED_GROUP, "post.3")
    members.leave_all(leaving)
    assert not leaving.open and leaving.groups == frozenset()
    assert staying.open, "control: the other socket is untouched"
    assert (members.socket_count, members.member_count("post.3")) == (1, 1)
    members.leave_all(staying)
    assert list(members.buckets()) == [] and members.member_counts() == {}


def test_joining_a_group_twice_counts_the_socket_once() -> None:
    members = Membership()
    socket = _socket()
    members.join(socket, FEED_GROUP)
    members.join(socket, FEED_GROUP, FEED_GROUP)
    assert members.member_count(FEED_GROUP) == 1 and members.socket_count == 1
