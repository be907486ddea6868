import type { Comment, CommentNode } from '../api/types';
import { childrenKey, compareComments, flattenThread } from './commentTree';
import type { CommentRecord, CommentsState, SingleAppEvent } from './types';

/*
 * Comments by id and the order of each parent's children.
 * - Keyed by id, so a comment that arrives twice (live event and REST answer, or
 *   a replayed event) is stored once.
 * - A deleted comment stays as a placeholder so its replies keep their parent.
 */

export const initialComments: CommentsState = { byId: {}, children: {}, loadedThreads: {} };

function toRecord(comment: Comment): CommentRecord {
  const { id, post_id, parent_id, author, content, created_at, depth, deleted } = comment;
  return { id, post_id, parent_id, author, content, created_at, depth, deleted: deleted === true };
}

function insertSorted(ids: number[], comment: CommentRecord, byId: Record<number, CommentRecord>): number[] {
  // Almost always the newest comment, so scan from the end.
  let index = ids.length;
  while (index > 0) {
    const before = byId[ids[index - 1] as number];
    if (!before || compareComments(before, comment) <= 0) break;
    index -= 1;
  }
  return [...ids.slice(0, index), comment.id, ...ids.slice(index)];
}

/** Adds one comment under its parent; a comment already known changes nothing. */
function insert(state: CommentsState, comment: Comment): CommentsState {
  if (state.byId[comment.id]) return state;
  const record = toRecord(comment);
  const byId = { ...state.byId, [comment.id]: record };
  const key = childrenKey(comment.post_id, comment.parent_id);
  const siblings = state.children[key] ?? [];
  return { ...state, byId, children: { ...state.children, [key]: insertSorted(siblings, record, byId) } };
}

/**
 * Merges a whole thread read over REST with what the socket already delivered:
 * comments that arrived live while the request was in flight are kept, and
 * every parent's children are put back in oldest-first order. A deletion seen
 * live stays even when the read was older.
 */
function threadLoaded(state: CommentsState, postId: number, roots: CommentNode[]): CommentsState {
  const { comments: flat, children: restChildren } = flattenThread(postId, roots);
  const byId = { ...state.byId };
  for (const comment of flat) {
    const existing = state.byId[comment.id];
    byId[comment.id] = existing?.deleted ? existing : toRecord(comment);
  }
  const children = { ...state.children };
  for (const [key, ids] of restChildren) {
    const existing = state.children[key];
    if (!existing) {
      children[key] = ids;
      continue;
    }
    const union = [...new Set([...ids, ...existing])];
    union.sort((a, b) => compareComments(byId[a] as CommentRecord, byId[b] as CommentRecord));
    children[key] = union;
  }
  return { byId, children, loadedThreads: { ...state.loadedThreads, [postId]: true } };
}

function deleted(state: CommentsState, commentId: number): CommentsState {
  const comment = state.byId[commentId];
  if (!comment || comment.deleted) return state;
  return { ...state, byId: { ...state.byId, [commentId]: { ...comment, deleted: true, content: '', author: null } } };
}

export function commentsReducer(state: CommentsState, event: SingleAppEvent): CommentsState {
  switch (event.type) {
    case 'thread.loaded':
      return threadLoaded(state, event.post.id, event.post.comments);
    case 'comment.created':
      return insert(state, { ...event.comment, post_id: event.post_id });
    case 'comment.published':
      return insert(state, event.comment);
    case 'comment.restored': {
      const known = state.byId[event.comment.id];
      const comment = { ...event.comment, post_id: event.post_id };
      return known ? { ...state, byId: { ...state.byId, [comment.id]: toRecord(comment) } } : insert(state, comment);
    }
    case 'comment.deleted':
    case 'comment.removed':
      return deleted(state, event.comment_id);
    default:
      return state;
  }
}
