import { describe, expect, it } from 'vitest';
import { alice, bob, deepChain, makeComment, makePost, node } from '../test/fixtures';
import { applyEvent, initialLiveState } from './applyEvent';
import { childrenKey } from './commentTree';
import { likeOf } from './selectors';
import type { AppEvent, LiveState } from './types';

/** A post as the screen shows it: the stored record with its like. */
function postView(state: LiveState, id: number) {
  const post = state.posts[id];
  const like = likeOf(state, 'post', id);
  return post && { ...post, like_count: like.count, liked_by_me: like.liked };
}

function commentView(state: LiveState, id: number) {
  const comment = state.comments.byId[id];
  const like = likeOf(state, 'comment', id);
  return comment && { ...comment, like_count: like.count, liked_by_me: like.liked };
}

function run(...events: AppEvent[]): LiveState {
  return events.reduce(applyEvent, initialLiveState);
}

function withFeed(...posts: ReturnType<typeof makePost>[]): LiveState {
  return run({ type: 'feed.loaded', posts, next: null, mode: 'replace' });
}

describe('hello and session', () => {
  it('records who the socket says we are', () => {
    const state = run({ type: 'hello', user: alice });
    expect(state.me).toEqual(alice);
  });

  it('keeps the same state object when nothing changed', () => {
    const state = run({ type: 'hello', user: alice });
    expect(applyEvent(state, { type: 'session.changed', user: { ...alice } })).toBe(state);
  });

  it('forgets the user on logout', () => {
    expect(run({ type: 'hello', user: alice }, { type: 'session.changed', user: null }).me).toBeNull();
  });
});

describe('feed pages', () => {
  it('replaces, then appends without duplicates', () => {
    const [p3, p2, p1] = [makePost(3), makePost(2), makePost(1)];
    let state = run({ type: 'feed.loaded', posts: [p3, p2], next: '/api/posts/?cursor=a', mode: 'replace' });
    state = applyEvent(state, { type: 'feed.loaded', posts: [p2, p1], next: null, mode: 'append' });
    expect(state.feed.ids).toEqual([3, 2, 1]);
    expect(state.feed.next).toBeNull();
    expect(state.feed.loaded).toBe(true);
  });

  it('puts posts missed while offline behind the pill on refresh', () => {
    const older = makePost(1);
    const missed = makePost(2);
    let state = withFeed(older);
    state = applyEvent(state, { type: 'feed.loaded', posts: [missed, older], next: null, mode: 'refresh' });
    expect(state.feed.ids).toEqual([1]);
    expect(state.feed.newIds).toEqual([2]);
  });

  it('keeps a versioned like count when a REST page is older than the stream', () => {
    const post = makePost(1, { like_count: 3 });
    let state = withFeed(post);
    state = applyEvent(state, { type: 'post.likes', post_id: 1, like_count: 5, version: 5 });
    state = applyEvent(state, { type: 'feed.loaded', posts: [{ ...post, like_count: 4, liked_by_me: true }], next: null, mode: 'replace' });
    expect(postView(state, 1)?.like_count).toBe(5);
    expect(postView(state, 1)?.liked_by_me).toBe(true);
  });
});

describe('post.created', () => {
  it('holds posts by others behind the "new posts" pill', () => {
    let state = withFeed(makePost(1));
    state = applyEvent(state, { type: 'session.changed', user: alice });
    state = applyEvent(state, { type: 'post.created', post: makePost(2, { author: bob }) });
    expect(state.feed.ids).toEqual([1]);
    expect(state.feed.newIds).toEqual([2]);
    state = applyEvent(state, { type: 'feed.revealNew' });
    expect(state.feed.ids).toEqual([2, 1]);
    expect(state.feed.newIds).toEqual([]);
  });

  it('shows the author their own post at once', () => {
    let state = applyEvent(withFeed(makePost(1)), { type: 'hello', user: alice });
    state = applyEvent(state, { type: 'post.created', post: makePost(2, { author: alice }) });
    expect(state.feed.ids).toEqual([2, 1]);
  });

  it('is idempotent with the REST answer of the author', () => {
    const own = makePost(2, { author: alice });
    let state = applyEvent(withFeed(makePost(1)), { type: 'session.changed', user: alice });
    state = applyEvent(state, { type: 'post.published', post: own });
    state = applyEvent(state, { type: 'post.created', post: own });
    state = applyEvent(state, { type: 'post.created', post: own });
    expect(state.feed.ids).toEqual([2, 1]);
    expect(state.feed.newIds).toEqual([]);
  });

  it('does not count a duplicate live post twice in the pill', () => {
    const other = makePost(2, { author: bob });
    const state = run(
      { type: 'feed.loaded', posts: [makePost(1)], next: null, mode: 'replace' },
      { type: 'post.created', post: other },
      { type: 'post.created', post: other },
    );
    expect(state.feed.newIds).toEqual([2]);
  });
});

describe('post.likes and versions', () => {
  it('keeps the count with the highest version', () => {
    const state = run(
      { type: 'feed.loaded', posts: [makePost(1)], next: null, mode: 'replace' },
      { type: 'post.likes', post_id: 1, like_count: 2, version: 2 },
      { type: 'post.likes', post_id: 1, like_count: 3, version: 3 },
      { type: 'post.likes', post_id: 1, like_count: 1, version: 1 },
      { type: 'post.likes', post_id: 1, like_count: 2, version: 2 },
    );
    expect(postView(state, 1)?.like_count).toBe(3);
    expect(state.likes[`post:1`]?.version).toBe(3);
  });

  it('remembers the version of a post not loaded yet', () => {
    const state = run({ type: 'post.likes', post_id: 9, like_count: 4, version: 7 });
    expect(state.likes[`post:9`]?.version).toBe(7);
    expect(state.posts[9]).toBeUndefined();
  });

  it('ignores an exact duplicate', () => {
    const once = run(
      { type: 'feed.loaded', posts: [makePost(1)], next: null, mode: 'replace' },
      { type: 'post.likes', post_id: 1, like_count: 2, version: 2 },
    );
    expect(applyEvent(once, { type: 'post.likes', post_id: 1, like_count: 2, version: 2 })).toBe(once);
  });
});

describe('subscribed snapshot', () => {
  it('converges counts after a reconnect and never goes back in version', () => {
    let state = withFeed(makePost(1, { like_count: 1, comment_count: 1 }), makePost(2, { like_count: 5 }));
    state = applyEvent(state, { type: 'post.likes', post_id: 2, like_count: 6, version: 9 });
    state = applyEvent(state, {
      type: 'subscribed',
      posts: [
        { id: 1, like_count: 4, comment_count: 3, version: 4 },
        { id: 2, like_count: 5, comment_count: 0, version: 8 },
      ],
    });
    expect(postView(state, 1)).toMatchObject({ like_count: 4, comment_count: 3 });
    expect(state.likes[`post:1`]?.version).toBe(4);
    expect(postView(state, 2)?.like_count).toBe(6);
    expect(state.likes[`post:2`]?.version).toBe(9);
  });

  it('lets a later event win over the snapshot', () => {
    const state = run(
      { type: 'feed.loaded', posts: [makePost(1)], next: null, mode: 'replace' },
      { type: 'subscribed', posts: [{ id: 1, like_count: 2, comment_count: 0, version: 2 }] },
      { type: 'post.likes', post_id: 1, like_count: 3, version: 3 },
    );
    expect(postView(state, 1)?.like_count).toBe(3);
  });
});

describe('comment.created', () => {
  const post = makePost(10, { comment_count: 1 });
  const root = makeComment(100, 10, null);
  const thread = run({ type: 'thread.loaded', post: { ...post, comments: [node(root)] } });

  it('inserts a reply under its parent and updates the count', () => {
    const reply = makeComment(101, 10, 100, { depth: 1 });
    const state = applyEvent(thread, { type: 'comment.created', post_id: 10, comment: reply, comment_count: 2 });
    expect(state.comments.children[childrenKey(10, 100)]).toEqual([101]);
    expect(state.posts[10]?.comment_count).toBe(2);
  });

  it('does not insert a duplicate twice', () => {
    const reply = makeComment(101, 10, 100, { depth: 1 });
    const event: AppEvent = { type: 'comment.created', post_id: 10, comment: reply, comment_count: 2 };
    const state = run(
      { type: 'thread.loaded', post: { ...post, comments: [node(root)] } },
      event,
      event,
      { type: 'comment.published', comment: reply },
    );
    expect(state.comments.children[childrenKey(10, 100)]).toEqual([101]);
    expect(state.posts[10]?.comment_count).toBe(2);
  });

  it('counts the author’s own comment once, whichever arrives first', () => {
    const reply = makeComment(102, 10, null);
    const state = run(
      { type: 'thread.loaded', post: { ...post, comments: [node(root)] } },
      { type: 'comment.published', comment: reply },
      { type: 'comment.created', post_id: 10, comment: reply, comment_count: 2 },
    );
    expect(state.comments.children[childrenKey(10, null)]).toEqual([100, 102]);
    expect(state.posts[10]?.comment_count).toBe(2);
  });

  it('keeps siblings oldest first even when events arrive out of order', () => {
    const first = makeComment(201, 10, 100);
    const second = makeComment(202, 10, 100);
    const state = run(
      { type: 'thread.loaded', post: { ...post, comments: [node(root)] } },
      { type: 'comment.created', post_id: 10, comment: second, comment_count: 3 },
      { type: 'comment.created', post_id: 10, comment: first, comment_count: 2 },
    );
    expect(state.comments.children[childrenKey(10, 100)]).toEqual([201, 202]);
    expect(state.posts[10]?.comment_count).toBe(3);
  });

  it('keeps live comments that the thread read did not contain yet', () => {
    const live = makeComment(300, 10, 100);
    const state = run(
      { type: 'comment.created', post_id: 10, comment: live, comment_count: 2 },
      { type: 'thread.loaded', post: { ...post, comments: [node(root)] } },
    );
    expect(state.comments.children[childrenKey(10, 100)]).toEqual([300]);
    expect(state.posts[10]?.comment_count).toBe(2);
  });
});

describe('comment.likes', () => {
  it('honours versions like posts do', () => {
    const post = makePost(10);
    const comment = makeComment(100, 10, null);
    const state = run(
      { type: 'thread.loaded', post: { ...post, comments: [node(comment)] } },
      { type: 'comment.likes', post_id: 10, comment_id: 100, like_count: 4, version: 4 },
      { type: 'comment.likes', post_id: 10, comment_id: 100, like_count: 2, version: 2 },
    );
    expect(commentView(state, 100)?.like_count).toBe(4);
    expect(state.likes[`comment:100`]?.version).toBe(4);
  });
});

describe('thread.loaded', () => {
  it('normalises a 10,000-deep chain without recursion', () => {
    const post = makePost(77, { comment_count: 10_000 });
    const state = run({ type: 'thread.loaded', post: { ...post, comments: deepChain(77, 10_000, 5000) } });
    expect(Object.keys(state.comments.byId)).toHaveLength(10_000);
    expect(state.comments.children[childrenKey(77, 5000 + 9998)]).toEqual([5000 + 9999]);
    expect(state.comments.loadedThreads[77]).toBe(true);
  });
});

describe('optimistic likes', () => {
  const base = () => withFeed(makePost(1, { like_count: 2 }));

  it('moves the count at once and settles on the REST answer', () => {
    let state = applyEvent(base(), { type: 'like.requested', target: 'post', id: 1, liked: true });
    expect(postView(state, 1)).toMatchObject({ like_count: 3, liked_by_me: true });
    expect(state.likes[`post:1`]?.pending).toBeDefined();
    state = applyEvent(state, { type: 'like.settled', target: 'post', id: 1, result: { liked: true, like_count: 7 } });
    expect(postView(state, 1)).toMatchObject({ like_count: 7, liked_by_me: true });
    expect(state.likes[`post:1`]?.pending).toBeUndefined();
  });

  it('rolls back on failure', () => {
    let state = applyEvent(base(), { type: 'like.requested', target: 'post', id: 1, liked: true });
    state = applyEvent(state, { type: 'like.failed', target: 'post', id: 1 });
    expect(postView(state, 1)).toMatchObject({ like_count: 2, liked_by_me: false });
    expect(state.likes[`post:1`]?.pending).toBeUndefined();
  });

  it('prefers the stream when a versioned event arrived during the request', () => {
    let state = applyEvent(base(), { type: 'like.requested', target: 'post', id: 1, liked: true });
    state = applyEvent(state, { type: 'post.likes', post_id: 1, like_count: 4, version: 4 });
    state = applyEvent(state, { type: 'like.settled', target: 'post', id: 1, result: { liked: true, like_count: 3 } });
    expect(postView(state, 1)).toMatchObject({ like_count: 4, liked_by_me: true });
  });

  it('orders a versioned REST answer against the stream', () => {
    let state = applyEvent(base(), { type: 'like.requested', target: 'post', id: 1, liked: true });
    state = applyEvent(state, {
      type: 'like.settled',
      target: 'post',
      id: 1,
      result: { liked: true, like_count: 3, version: 9 },
    });
    expect(postView(state, 1)).toMatchObject({ like_count: 3, liked_by_me: true });
    // An event from before this like, delivered late, no longer moves the count back.
    state = applyEvent(state, { type: 'post.likes', post_id: 1, like_count: 2, version: 8 });
    expect(postView(state, 1)).toMatchObject({ like_count: 3 });
    state = applyEvent(state, { type: 'post.likes', post_id: 1, like_count: 4, version: 10 });
    expect(postView(state, 1)).toMatchObject({ like_count: 4 });
  });

  it('keeps a newer stream count over an older versioned REST answer', () => {
    let state = applyEvent(base(), { type: 'like.requested', target: 'post', id: 1, liked: true });
    state = applyEvent(state, { type: 'post.likes', post_id: 1, like_count: 6, version: 12 });
    state = applyEvent(state, {
      type: 'like.settled',
      target: 'post',
      id: 1,
      result: { liked: true, like_count: 3, version: 11 },
    });
    expect(postView(state, 1)).toMatchObject({ like_count: 6, liked_by_me: true });
  });

  it('keeps the server count on failure when the stream moved on', () => {
    let state = applyEvent(base(), { type: 'like.requested', target: 'post', id: 1, liked: true });
    state = applyEvent(state, { type: 'post.likes', post_id: 1, like_count: 5, version: 5 });
    state = applyEvent(state, { type: 'like.failed', target: 'post', id: 1 });
    expect(postView(state, 1)).toMatchObject({ like_count: 5, liked_by_me: false });
  });

  it('ignores a second request while one is in flight', () => {
    const once = applyEvent(base(), { type: 'like.requested', target: 'post', id: 1, liked: true });
    expect(applyEvent(once, { type: 'like.requested', target: 'post', id: 1, liked: false })).toBe(once);
  });

  it('works for comments and unlikes', () => {
    const post = makePost(10);
    const comment = makeComment(100, 10, null, { like_count: 1, liked_by_me: true });
    let state = run({ type: 'thread.loaded', post: { ...post, comments: [node(comment)] } });
    state = applyEvent(state, { type: 'like.requested', target: 'comment', id: 100, liked: false });
    expect(commentView(state, 100)).toMatchObject({ like_count: 0, liked_by_me: false });
    state = applyEvent(state, { type: 'like.settled', target: 'comment', id: 100, result: { liked: false, like_count: 0 } });
    expect(state.likes[`comment:100`]?.pending).toBeUndefined();
  });
});

describe('leaderboard', () => {
  const entries = [{ rank: 1, user: alice, karma: 10 }];

  it('takes the socket’s board and ignores a slower REST answer', () => {
    const state = run(
      { type: 'leaderboard', window_hours: 24, entries },
      { type: 'leaderboard.loaded', leaderboard: { window_hours: 24, entries: [] } },
    );
    expect(state.leaderboard.board?.entries).toEqual(entries);
  });

  it('uses the REST answer until the socket speaks', () => {
    const state = run({ type: 'leaderboard.loaded', leaderboard: { window_hours: 24, entries } });
    expect(state.leaderboard.board?.entries).toEqual(entries);
  });
});

describe('batch', () => {
  it('applies its events in order, nested batches included', () => {
    const state = run(
      { type: 'feed.loaded', posts: [makePost(1)], next: null, mode: 'replace' },
      {
        type: 'batch',
        events: [
          { type: 'post.likes', post_id: 1, like_count: 1, version: 1 },
          { type: 'batch', events: [{ type: 'post.likes', post_id: 1, like_count: 2, version: 2 }] },
          { type: 'post.likes', post_id: 1, like_count: 1, version: 1 },
          { type: 'leaderboard', window_hours: 24, entries: [{ rank: 1, user: alice, karma: 5 }] },
        ],
      },
    );
    expect(postView(state, 1)?.like_count).toBe(2);
    expect(state.leaderboard.board?.entries[0]?.karma).toBe(5);
  });

  it('leaves state untouched for pong and error', () => {
    const state = withFeed(makePost(1));
    expect(applyEvent(state, { type: 'pong' })).toBe(state);
    expect(applyEvent(state, { type: 'error', code: 'bad', detail: 'nope' })).toBe(state);
  });
});

describe('deleting', () => {
  it('takes a deleted post out of the feed and the pill, and keeps it as a placeholder', () => {
    let state = withFeed(makePost(2), makePost(1));
    state = applyEvent(state, { type: 'post.created', post: makePost(3, { author: bob }) });
    state = applyEvent(state, { type: 'post.deleted', post_id: 2 });
    state = applyEvent(state, { type: 'post.deleted', post_id: 3 });
    expect(state.feed.ids).toEqual([1]);
    expect(state.feed.newIds).toEqual([]);
    expect(state.posts[2]).toMatchObject({ deleted: true, content: '', author: null });
    expect(applyEvent(state, { type: 'post.deleted', post_id: 2 })).toBe(state);
  });

  it('does not bring a deleted post back with a page read before the deletion', () => {
    const post = makePost(2);
    let state = withFeed(post, makePost(1));
    state = applyEvent(state, { type: 'post.deleted', post_id: 2 });
    state = applyEvent(state, { type: 'feed.loaded', posts: [post, makePost(1)], next: null, mode: 'replace' });
    expect(state.feed.ids).toEqual([1]);
  });

  it('keeps a deleted comment in place and its replies under it', () => {
    const post = makePost(10, { comment_count: 2 });
    const root = makeComment(100, 10, null);
    const reply = makeComment(101, 10, 100, { depth: 1 });
    const state = run(
      { type: 'thread.loaded', post: { ...post, comments: [node(root, [node(reply)])] } },
      { type: 'comment.deleted', post_id: 10, comment_id: 100, comment_count: 1 },
    );
    expect(state.comments.byId[100]).toMatchObject({ deleted: true, content: '', author: null });
    expect(state.comments.children[childrenKey(10, 100)]).toEqual([101]);
    expect(state.posts[10]?.comment_count).toBe(1);
  });

  it('counts my own deletion once, whether the event came first or not', () => {
    const post = makePost(10, { comment_count: 2 });
    const thread = run({
      type: 'thread.loaded',
      post: { ...post, comments: [node(makeComment(100, 10, null)), node(makeComment(101, 10, null))] },
    });
    const removed = { type: 'comment.removed', post_id: 10, comment_id: 100 } as const;
    const deleted = { type: 'comment.deleted', post_id: 10, comment_id: 100, comment_count: 1 } as const;
    expect(run2(thread, removed, deleted).posts[10]?.comment_count).toBe(1);
    expect(run2(thread, deleted, removed).posts[10]?.comment_count).toBe(1);
  });
});

function run2(state: LiveState, ...events: AppEvent[]): LiveState {
  return events.reduce(applyEvent, state);
}

describe('viewers', () => {
  it('takes the newest count from post.viewers and from the snapshot', () => {
    let state = run({ type: 'subscribed', posts: [{ id: 1, like_count: 0, comment_count: 0, version: 0, viewers: 2 }] });
    expect(state.viewers[1]).toBe(2);
    state = applyEvent(state, { type: 'post.viewers', post_id: 1, count: 5 });
    expect(state.viewers[1]).toBe(5);
    expect(applyEvent(state, { type: 'post.viewers', post_id: 1, count: 5 })).toBe(state);
  });
});

describe('restoring', () => {
  it('puts a restored post back in its place in the feed, and a restored comment in its placeholder', () => {
    const p1 = makePost(1);
    const p2 = makePost(2);
    const p3 = makePost(3);
    const comment = makeComment(100, 2, null, { content: 'Back again' });
    let state = run(
      { type: 'feed.loaded', posts: [p3, p2, p1], next: null, mode: 'replace' },
      { type: 'thread.loaded', post: { ...p2, comment_count: 1, comments: [node(comment)] } },
      { type: 'post.deleted', post_id: 2 },
      { type: 'comment.deleted', post_id: 2, comment_id: 100, comment_count: 0 },
    );
    expect(state.feed.ids).toEqual([3, 1]);
    state = applyEvent(state, { type: 'post.restored', post: p2 });
    state = applyEvent(state, { type: 'comment.restored', post_id: 2, comment, comment_count: 1 });
    expect(state.feed.ids).toEqual([3, 2, 1]);
    expect(state.comments.byId[100]).toMatchObject({ deleted: false, content: 'Back again' });
    expect(state.posts[2]).toMatchObject({ deleted: false, comment_count: 1 });
  });
});
