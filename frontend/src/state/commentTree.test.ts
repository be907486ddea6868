import { describe, expect, it } from 'vitest';
import { deepChain, makeComment, makePost, node } from '../test/fixtures';
import { applyEvent, initialLiveState } from './applyEvent';
import { ancestorsOf, buildThreadRows, flattenThread } from './commentTree';

function threadState(postId: number, comments: ReturnType<typeof node>[]) {
  return applyEvent(initialLiveState, { type: 'thread.loaded', post: { ...makePost(postId), comments } });
}

describe('flattenThread', () => {
  it('lists comments depth-first with children in order', () => {
    const a = makeComment(1, 5, null);
    const b = makeComment(2, 5, 1);
    const c = makeComment(3, 5, null);
    const { comments, children } = flattenThread(5, [node(a, [node(b)]), node(c)]);
    expect(comments.map((comment) => comment.id)).toEqual([1, 2, 3]);
    expect(children.get('post:5')).toEqual([1, 3]);
    expect(children.get('comment:1')).toEqual([2]);
    expect(comments[0]).not.toHaveProperty('replies');
  });
});

describe('buildThreadRows', () => {
  it('stops at the visible depth and offers to continue', () => {
    const state = threadState(8, deepChain(8, 10_000));
    const rows = buildThreadRows({
      postId: 8,
      focusCommentId: null,
      comments: state.comments.byId,
      children: state.comments.children,
      collapsed: new Set(),
      maxDepth: 6,
    });
    expect(rows.filter((row) => row.kind === 'comment')).toHaveLength(6);
    const last = rows[rows.length - 1];
    expect(last).toMatchObject({ kind: 'continue', depth: 6, hiddenCount: 10_000 - 6 });
    if (last?.kind === 'continue') expect(last.parent.id).toBe(6);
  });

  it('restarts the depth at a focused comment deep in the chain', () => {
    const state = threadState(8, deepChain(8, 10_000));
    const rows = buildThreadRows({
      postId: 8,
      focusCommentId: 9_995,
      comments: state.comments.byId,
      children: state.comments.children,
      collapsed: new Set(),
      maxDepth: 6,
    });
    expect(rows.map((row) => (row.kind === 'comment' ? row.comment.id : 'more'))).toEqual([
      9_995, 9_996, 9_997, 9_998, 9_999, 10_000,
    ]);
    expect(rows[0]).toMatchObject({ depth: 0 });
  });

  it('hides the replies of a collapsed comment and counts them', () => {
    const a = makeComment(1, 5, null);
    const b = makeComment(2, 5, 1);
    const c = makeComment(3, 5, 2);
    const d = makeComment(4, 5, null);
    const state = threadState(5, [node(a, [node(b, [node(c)])]), node(d)]);
    const rows = buildThreadRows({
      postId: 5,
      focusCommentId: null,
      comments: state.comments.byId,
      children: state.comments.children,
      collapsed: new Set([1]),
      maxDepth: 6,
    });
    expect(rows.map((row) => (row.kind === 'comment' ? row.comment.id : 0))).toEqual([1, 4]);
    expect(rows[0]).toMatchObject({ collapsed: true, hiddenCount: 2 });
  });

  it('returns no rows for an unknown focus', () => {
    const state = threadState(5, [node(makeComment(1, 5, null))]);
    expect(
      buildThreadRows({
        postId: 5,
        focusCommentId: 999,
        comments: state.comments.byId,
        children: state.comments.children,
        collapsed: new Set(),
        maxDepth: 6,
      }),
    ).toEqual([]);
  });
});

describe('ancestorsOf', () => {
  it('walks up to the root, root first', () => {
    const state = threadState(8, deepChain(8, 5));
    expect(ancestorsOf(4, state.comments.byId).map((comment) => comment.id)).toEqual([1, 2, 3]);
  });
});
