import type { Post } from '../api/types';
import type { CommentsState, PostRecord, SingleAppEvent } from './types';

/*
 * Posts by id: their text, author and comment count (likes live in `likes`).
 * - Comment counts from events and snapshots are absolute and come in stream
 *   order (the socket drops repeats), so they are taken as they are; a creation
 *   only ever raises the count.
 * - A REST page may have been read before the latest comment; its count only
 *   ever raises the one on screen (a deletion comes as an event with its count).
 * - A deleted post keeps its id and place: content and author are gone.
 */

type Posts = Record<number, PostRecord>;

function toRecord(post: Post): PostRecord {
  const { id, author, content, created_at, comment_count, deleted } = post;
  return { id, author, content, created_at, comment_count, deleted: deleted === true };
}

function mergeFromRest(posts: Posts, incoming: readonly Post[], minimumCounts: Record<number, number> = {}): Posts {
  const next = { ...posts };
  for (const post of incoming) {
    const existing = posts[post.id];
    const record = toRecord(post);
    const floor = Math.max(existing?.comment_count ?? 0, minimumCounts[post.id] ?? 0);
    // A deletion seen live stays, even when a page read earlier still shows the post.
    next[post.id] = existing?.deleted
      ? existing
      : { ...record, comment_count: Math.max(record.comment_count, floor) };
  }
  return next;
}

function withCommentCount(posts: Posts, postId: number, count: number): Posts {
  const post = posts[postId];
  if (!post || post.comment_count === count) return posts;
  return { ...posts, [postId]: { ...post, comment_count: count } };
}

function countCommentsOfPost(comments: CommentsState, postId: number): number {
  let count = 0;
  for (const comment of Object.values(comments.byId)) if (comment.post_id === postId && !comment.deleted) count += 1;
  return count;
}

/**
 * `comments` is the comments state before this event (whether a comment was known
 * decides a count), `commentsAfter` the one after it.
 */
export function postsReducer(
  posts: Posts,
  event: SingleAppEvent,
  comments: CommentsState,
  commentsAfter: CommentsState,
): Posts {
  switch (event.type) {
    case 'feed.loaded':
      return mergeFromRest(posts, event.posts);
    case 'post.published':
      return mergeFromRest(posts, [event.post]);
    case 'post.created':
      return posts[event.post.id] ? posts : { ...posts, [event.post.id]: toRecord(event.post) };
    case 'thread.loaded':
      // Comments that arrived live while the read was in flight count too.
      return mergeFromRest(posts, [event.post], { [event.post.id]: countCommentsOfPost(commentsAfter, event.post.id) });
    case 'subscribed':
      return event.posts.reduce((current, snapshot) => withCommentCount(current, snapshot.id, snapshot.comment_count), posts);
    case 'comment.created': {
      // A creation never lowers the count; a late event must not either.
      const post = posts[event.post_id];
      return post ? withCommentCount(posts, post.id, Math.max(post.comment_count, event.comment_count)) : posts;
    }
    case 'comment.deleted':
      return withCommentCount(posts, event.post_id, event.comment_count);
    case 'comment.removed': {
      const post = posts[event.post_id];
      const comment = comments.byId[event.comment_id];
      if (!post || !comment || comment.deleted) return posts;
      return withCommentCount(posts, post.id, Math.max(0, post.comment_count - 1));
    }
    case 'comment.published': {
      // Our own REST answer has no count: count the comment by hand, once.
      const post = posts[event.comment.post_id];
      if (!post || comments.byId[event.comment.id]) return posts;
      return withCommentCount(posts, post.id, post.comment_count + 1);
    }
    case 'post.restored':
      return { ...posts, [event.post.id]: toRecord(event.post) };
    case 'comment.restored':
      return withCommentCount(posts, event.post_id, event.comment_count);
    case 'post.deleted': {
      const post = posts[event.post_id];
      if (!post || post.deleted) return posts;
      return { ...posts, [post.id]: { ...post, deleted: true, content: '', author: null } };
    }
    default:
      return posts;
  }
}
