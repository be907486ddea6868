import { describe, expect, it } from 'vitest';
import type { Comment, CommentNode, Post, PostWithThread } from '../api/types';
import type { ServerEvent } from '../realtime/events';
import { alice, bob, makeComment, makePost, node } from '../test/fixtures';
import { applyEvent, initialLiveState } from './applyEvent';
import { buildThreadRows } from './commentTree';
import { feedPosts, likeOf } from './selectors';
import type { AppEvent, LiveState } from './types';

/*
 * Convergence, the client's half: a state read over REST, plus the events the
 * server sends for what happened after it, equals the state a fresh read gives.
 * Each case is a sequence in the server's wire format (stream and seq included),
 * as a socket would receive it, for every event type that changes what is shown.
 */

function run(state: LiveState, events: AppEvent[]): LiveState {
  return events.reduce(applyEvent, state);
}

/** What the screen shows: the feed's posts, a thread's rows, counts and likes. */
function view(state: LiveState, threadPostId: number | null) {
  const posts = feedPosts(state).map((post) => ({
    id: post.id,
    content: post.content,
    comment_count: post.comment_count,
    likes: likeOf(state, 'post', post.id).count,
  }));
  const thread =
    threadPostId === null
      ? null
      : {
          post: state.posts[threadPostId] && {
            deleted: state.posts[threadPostId].deleted,
            comment_count: state.posts[threadPostId].comment_count,
            likes: likeOf(state, 'post', threadPostId).count,
          },
          rows: buildThreadRows({
            postId: threadPostId,
            focusCommentId: null,
            comments: state.comments.byId,
            children: state.comments.children,
            collapsed: new Set(),
            maxDepth: 100,
          }).map((row) =>
            row.kind === 'comment'
              ? {
                  id: row.comment.id,
                  depth: row.depth,
                  content: row.comment.content,
                  author: row.comment.author?.username ?? null,
                  likes: likeOf(state, 'comment', row.comment.id).count,
                }
              : { continue: row.parent.id },
          ),
        };
  return { posts, newPosts: state.feed.newIds, thread };
}

function feedRead(posts: Post[]): AppEvent {
  return { type: 'feed.loaded', posts, next: null, mode: 'replace' };
}

function threadRead(post: Post, comments: CommentNode[]): AppEvent {
  const thread: PostWithThread = { ...post, comments };
  return { type: 'thread.loaded', post: thread };
}

function expectConverges(stale: AppEvent[], events: ServerEvent[], fresh: AppEvent[], threadPostId: number | null) {
  const me = { type: 'session.changed', user: alice } as const;
  const healed = run(run(initialLiveState, [me, ...stale]), events);
  const read = run(run(initialLiveState, [me]), fresh);
  expect(view(healed, threadPostId)).toEqual(view(read, threadPostId));
}

describe('a stale state plus the events equals a fresh read', () => {
  const post = makePost(5, { author: bob, content: 'The post', like_count: 1, comment_count: 1 });
  const root: Comment = makeComment(50, 5, null, { author: alice, like_count: 0 });

  it('post.likes and comment.likes', () => {
    expectConverges(
      [feedRead([post]), threadRead(post, [node(root)])],
      [
        { type: 'post.likes', post_id: 5, like_count: 2, version: 2, stream: 'post.5', seq: 3 },
        { type: 'comment.likes', post_id: 5, comment_id: 50, like_count: 1, version: 1, stream: 'post.5', seq: 4 },
        { type: 'post.likes', post_id: 5, like_count: 3, version: 3, stream: 'post.5', seq: 5 },
      ],
      [feedRead([{ ...post, like_count: 3 }]), threadRead({ ...post, like_count: 3 }, [node({ ...root, like_count: 1 })])],
      5,
    );
  });

  it('comment.created, replies in their place', () => {
    const reply = makeComment(51, 5, 50, { depth: 1, author: bob });
    const second = makeComment(52, 5, null, { author: bob });
    expectConverges(
      [feedRead([post]), threadRead(post, [node(root)])],
      [
        {
          type: 'batch',
          events: [
            { type: 'comment.created', post_id: 5, comment: reply, comment_count: 2, stream: 'post.5', seq: 3 },
            { type: 'comment.created', post_id: 5, comment: second, comment_count: 3, stream: 'post.5', seq: 4 },
          ],
        },
      ],
      [feedRead([{ ...post, comment_count: 3 }]), threadRead({ ...post, comment_count: 3 }, [node(root, [node(reply)]), node(second)])],
      5,
    );
  });

  it('comment.deleted leaves a placeholder and keeps its replies', () => {
    const reply = makeComment(51, 5, 50, { depth: 1, author: bob });
    const withReply = { ...post, comment_count: 2 };
    expectConverges(
      [feedRead([withReply]), threadRead(withReply, [node(root, [node(reply)])])],
      [{ type: 'comment.deleted', post_id: 5, comment_id: 50, comment_count: 1, stream: 'post.5', seq: 3 }],
      [
        feedRead([{ ...post, comment_count: 1 }]),
        threadRead({ ...post, comment_count: 1 }, [node({ ...root, deleted: true, content: '', author: null }, [node(reply)])]),
      ],
      5,
    );
  });

  it('post.created by someone else waits behind the pill; by me shows at once', () => {
    const other = makePost(6, { author: bob });
    const mine = makePost(7, { author: alice });
    const healed = run(run(initialLiveState, [{ type: 'session.changed', user: alice }, feedRead([post])]), [
      { type: 'post.created', post: other, stream: 'feed', seq: 8 },
      { type: 'post.created', post: mine, stream: 'feed', seq: 9 },
      { type: 'feed.revealNew' },
    ]);
    const read = run(initialLiveState, [{ type: 'session.changed', user: alice }, feedRead([mine, other, post])]);
    expect(view(healed, null)).toEqual(view(read, null));
  });

  it('post.deleted takes the post out of the feed and leaves its thread as a placeholder', () => {
    const other = makePost(6, { author: alice });
    expectConverges(
      [feedRead([other, post]), threadRead(post, [node(root)])],
      [{ type: 'post.deleted', post_id: 5, stream: 'feed', seq: 9 }],
      [feedRead([other]), threadRead({ ...post, deleted: true, content: '', author: null }, [node(root)])],
      5,
    );
  });

  it('tells a missed event apart (the comparison can fail)', () => {
    const reply = makeComment(51, 5, 50, { depth: 1, author: bob });
    const stale = run(initialLiveState, [feedRead([post]), threadRead(post, [node(root)])]);
    const read = run(initialLiveState, [feedRead([{ ...post, comment_count: 2 }]), threadRead({ ...post, comment_count: 2 }, [node(root, [node(reply)])])]);
    expect(view(stale, 5)).not.toEqual(view(read, 5));
  });

  it('a replay of events already applied changes nothing', () => {
    const reply = makeComment(51, 5, 50, { depth: 1, author: bob });
    const events: ServerEvent[] = [
      { type: 'comment.created', post_id: 5, comment: reply, comment_count: 2, stream: 'post.5', seq: 3 },
      { type: 'post.likes', post_id: 5, like_count: 2, version: 2, stream: 'post.5', seq: 4 },
      { type: 'comment.deleted', post_id: 5, comment_id: 51, comment_count: 1, stream: 'post.5', seq: 5 },
    ];
    const once = run(run(initialLiveState, [feedRead([post]), threadRead(post, [node(root)])]), events);
    expect(view(run(once, events), 5)).toEqual(view(once, 5));
  });
});
