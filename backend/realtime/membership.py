"""Which of this process's sockets are in which group: the hub's routing table.

Sockets are kept in buckets by the exact set of groups they are in, so a delivery round
works out each bucket's share of the events once, not each socket's. Each distinct set of
groups exists once, as its bucket's key, and every socket in the bucket points at that one
frozenset: thousands of sockets that follow the same posts cost one set, not a mutable set
and a frozen copy each.
"""

from collections.abc import Collection, ItemsView, KeysView

from realtime.connection import Connection
from realtime.events import FEED_GROUP


class Membership:
    def __init__(self) -> None:
        self._members: dict[str, set[Connection]] = {}
        self._buckets: dict[frozenset[str], set[Connection]] = {}
        # Each bucket's key by itself, to find the shared instance of a set of groups.
        self._shared_group_sets: dict[frozenset[str], frozenset[str]] = {}

    @property
    def socket_count(self) -> int:
        """Every socket is in the feed group from its handshake on."""
        return len(self._members.get(FEED_GROUP, ()))

    def _move(self, conn: Connection, groups: frozenset[str]) -> None:
        """Put the socket in the bucket of exactly these groups."""
        old = self._buckets.get(conn.groups)
        if old is not None:
            old.discard(conn)
            if not old:
                del self._buckets[conn.groups]
                del self._shared_group_sets[conn.groups]
        if groups:
            groups = self._shared_group_sets.setdefault(groups, groups)
            self._buckets.setdefault(groups, set()).add(conn)
        conn.groups = groups

    def join(self, conn: Connection, *groups: str) -> None:
        new_groups = [group for group in groups if group not in conn.groups]
        if not new_groups:
            return
        self._move(conn, conn.groups.union(new_groups))
        for group in new_groups:
            self._members.setdefault(group, set()).add(conn)

    def leave(self, conn: Connection, *groups: str) -> None:
        old_groups = [group for group in groups if group in conn.groups]
        if not old_groups:
            return
        self._move(conn, conn.groups.difference(old_groups))
        for group in old_groups:
            members = self._members.get(group)
            if members is not None:
                members.discard(conn)
                if not members:
                    del self._members[group]

    def leave_all(self, conn: Connection) -> None:
        conn.open = False
        self.leave(conn, *conn.groups)

    def wanted(self, group: str) -> bool:
        """Some socket here is in the group."""
        return group in self._members

    def of(self, group: str) -> Collection[Connection]:
        return self._members.get(group, ())

    def groups(self) -> KeysView[str]:
        """The groups some socket here is in."""
        return self._members.keys()

    def buckets(self) -> ItemsView[frozenset[str], set[Connection]]:
        """The sockets by the exact set of groups they are in."""
        return self._buckets.items()

    def member_count(self, group: str) -> int:
        return len(self._members.get(group, ()))

    def member_counts(self) -> dict[str, int]:
        return {group: len(members) for group, members in self._members.items()}
