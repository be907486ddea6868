import type { Comment, CommentNode } from '../api/types';
import type { CommentRecord } from './types';

export function childrenKey(postId: number, parentId: number | null): string {
  return parentId === null ? `post:${postId}` : `comment:${parentId}`;
}

/**
 * Flattens the nested thread JSON without recursion: a 10,000-deep chain of
 * replies would overflow the call stack of a recursive walk.
 * Returns every comment (without `replies`) and the ordered children per parent.
 */
export function flattenThread(
  postId: number,
  roots: CommentNode[],
): { comments: Comment[]; children: Map<string, number[]> } {
  const comments: Comment[] = [];
  const children = new Map<string, number[]>();
  children.set(childrenKey(postId, null), roots.map((node) => node.id));
  const stack: CommentNode[] = [...roots].reverse();
  while (stack.length > 0) {
    const node = stack.pop() as CommentNode;
    const { replies, ...comment } = node;
    comments.push(comment);
    const replyList = replies ?? [];
    if (replyList.length > 0) children.set(childrenKey(postId, node.id), replyList.map((reply) => reply.id));
    for (let i = replyList.length - 1; i >= 0; i -= 1) stack.push(replyList[i] as CommentNode);
  }
  return { comments, children };
}

export function compareComments(a: Pick<Comment, 'created_at' | 'id'>, b: Pick<Comment, 'created_at' | 'id'>): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? -1 : 1;
  return a.id - b.id;
}

/** A row of the rendered thread: the tree walked depth-first into a flat list. */
export type ThreadRow =
  | { kind: 'comment'; comment: CommentRecord; depth: number; replyCount: number; collapsed: boolean; hiddenCount: number }
  | { kind: 'continue'; parent: CommentRecord; depth: number; hiddenCount: number };

export interface ThreadWalkInput {
  postId: number;
  /** Show only the subtree under this comment (the comment itself first), or the whole thread. */
  focusCommentId: number | null;
  comments: Record<number, CommentRecord>;
  children: Record<string, number[]>;
  collapsed: ReadonlySet<number>;
  /** Levels shown before the walk stops and offers "continue this thread". */
  maxDepth: number;
}

/** Counts every descendant of a comment with an explicit stack. */
function countDescendants(
  postId: number,
  commentId: number,
  children: Record<string, number[]>,
): number {
  let count = 0;
  const stack = [...(children[childrenKey(postId, commentId)] ?? [])];
  while (stack.length > 0) {
    const id = stack.pop() as number;
    count += 1;
    const kids = children[childrenKey(postId, id)];
    if (kids) for (const kid of kids) stack.push(kid);
  }
  return count;
}

/**
 * Walks the visible part of the tree iteratively and returns the rows in
 * reading order. Depth is relative to the focus, so a focused deep subtree
 * starts again at the left edge.
 */
export function buildThreadRows(input: ThreadWalkInput): ThreadRow[] {
  const { postId, focusCommentId, comments, children, collapsed, maxDepth } = input;
  const rows: ThreadRow[] = [];
  const startIds =
    focusCommentId === null ? (children[childrenKey(postId, null)] ?? []) : comments[focusCommentId] ? [focusCommentId] : [];
  const stack: { id: number; depth: number }[] = [];
  for (let i = startIds.length - 1; i >= 0; i -= 1) stack.push({ id: startIds[i] as number, depth: 0 });

  while (stack.length > 0) {
    const { id, depth } = stack.pop() as { id: number; depth: number };
    const comment = comments[id];
    if (!comment) continue;
    const kids = children[childrenKey(postId, id)] ?? [];
    const isCollapsed = collapsed.has(id);
    rows.push({
      kind: 'comment',
      comment,
      depth,
      replyCount: kids.length,
      collapsed: isCollapsed,
      hiddenCount: isCollapsed && kids.length > 0 ? countDescendants(postId, id, children) : 0,
    });
    if (isCollapsed || kids.length === 0) continue;
    if (depth + 1 >= maxDepth) {
      rows.push({ kind: 'continue', parent: comment, depth: depth + 1, hiddenCount: countDescendants(postId, id, children) });
      continue;
    }
    for (let i = kids.length - 1; i >= 0; i -= 1) stack.push({ id: kids[i] as number, depth: depth + 1 });
  }
  return rows;
}

/** The chain of ancestors of a comment, root first, found by following parent ids. */
export function ancestorsOf(commentId: number, comments: Record<number, CommentRecord>): CommentRecord[] {
  const chain: CommentRecord[] = [];
  let current = comments[commentId];
  const seen = new Set<number>();
  while (current && current.parent_id !== null && !seen.has(current.parent_id)) {
    seen.add(current.parent_id);
    const parent = comments[current.parent_id];
    if (!parent) break;
    chain.push(parent);
    current = parent;
  }
  return chain.reverse();
}
