import type { Comment, CommentNode, Post, User } from '../api/types';

export const alice: User = { id: 1, username: 'alice' };
export const bob: User = { id: 2, username: 'bob' };

let clock = Date.parse('2026-11-22T10:00:00Z');

/** Timestamps that grow with every call, so fixtures are created "in order". */
function nextTimestamp(): string {
  clock += 1000;
  return new Date(clock).toISOString();
}

export function makePost(id: number, overrides: Partial<Post> = {}): Post {
  return {
    id,
    author: alice,
    content: `Post ${id}`,
    created_at: nextTimestamp(),
    like_count: 0,
    comment_count: 0,
    liked_by_me: false,
    deleted: false,
    ...overrides,
  };
}

export function makeComment(id: number, postId: number, parentId: number | null, overrides: Partial<Comment> = {}): Comment {
  return {
    id,
    post_id: postId,
    parent_id: parentId,
    author: bob,
    content: `Comment ${id}`,
    created_at: nextTimestamp(),
    like_count: 0,
    liked_by_me: false,
    depth: 0,
    deleted: false,
    ...overrides,
  };
}

export function node(comment: Comment, replies: CommentNode[] = []): CommentNode {
  return { ...comment, replies };
}

/** A single chain of `depth` replies, built without recursion. */
export function deepChain(postId: number, depth: number, firstId = 1): CommentNode[] {
  const nodes: CommentNode[] = [];
  for (let level = 0; level < depth; level += 1) {
    const id = firstId + level;
    nodes.push(node(makeComment(id, postId, level === 0 ? null : id - 1, { depth: level })));
  }
  for (let level = depth - 1; level > 0; level -= 1) (nodes[level - 1] as CommentNode).replies = [nodes[level] as CommentNode];
  return nodes.length > 0 ? [nodes[0] as CommentNode] : [];
}

/** The JSON text of a post whose thread is one chain of `depth` replies, written without recursion. */
export function deepChainJson(post: Post, depth: number): string {
  const open: string[] = [];
  for (let level = 0; level < depth; level += 1) {
    const comment = makeComment(level + 1, post.id, level === 0 ? null : level, { depth: level });
    const encoded = JSON.stringify(comment);
    open.push(`${encoded.slice(0, -1)},"replies":[`);
  }
  const chain = open.join('') + ']}'.repeat(depth);
  return `${JSON.stringify(post).slice(0, -1)},"comments":[${chain}]}`;
}
