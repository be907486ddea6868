import { describe, expect, it } from 'vitest';
import { makeComment } from '../test/fixtures';
import { arrivingCommentIds, withoutIds } from './freshComments';

describe('fresh comments', () => {
  it('marks comments that arrive live or are published here, batches included', () => {
    const live = makeComment(101, 10, 100);
    const own = makeComment(102, 10, null);
    expect(arrivingCommentIds({ type: 'comment.created', post_id: 10, comment: live, comment_count: 2 })).toEqual([101]);
    expect(arrivingCommentIds({ type: 'comment.published', comment: own })).toEqual([102]);
    expect(
      arrivingCommentIds({
        type: 'batch',
        events: [
          { type: 'post.likes', post_id: 10, like_count: 1, version: 1 },
          { type: 'comment.created', post_id: 10, comment: live, comment_count: 2 },
        ],
      }),
    ).toEqual([101]);
    expect(arrivingCommentIds({ type: 'post.likes', post_id: 10, like_count: 1, version: 1 })).toEqual([]);
  });

  it('expires the highlight', () => {
    expect([...withoutIds(new Set([101, 102]), [101])]).toEqual([102]);
  });
});
