import type { LikeState } from '../api/types';
import { flattenThread } from './commentTree';
import type { Like, LikeTarget, SingleAppEvent } from './types';

/*
 * Likes of posts and comments, one rule for both, keyed by target.
 * - A count carries a `version`; it is replaced only by a higher version, so late
 *   or repeated events never move a count backwards.
 * - A REST answer without a version is older than anything the stream told us:
 *   once a version is known, the count stays. Whether *I* liked it is only known
 *   to REST, unless a like of mine is in flight.
 */

export function likeKey(target: LikeTarget, id: number): string {
  return `${target}:${id}`;
}

type Likes = Record<string, Like>;

interface Liked {
  id: number;
  like_count: number;
  liked_by_me: boolean;
}

function mergeFromRest(likes: Likes, target: LikeTarget, items: readonly Liked[]): Likes {
  let next = likes;
  for (const item of items) {
    const key = likeKey(target, item.id);
    const existing = likes[key];
    const merged: Like = existing
      ? {
          ...existing,
          count: existing.version !== null || existing.pending ? existing.count : item.like_count,
          liked: existing.pending ? existing.liked : item.liked_by_me,
        }
      : { count: item.like_count, liked: item.liked_by_me, version: null };
    if (existing && merged.count === existing.count && merged.liked === existing.liked) continue;
    if (next === likes) next = { ...likes };
    next[key] = merged;
  }
  return next;
}

/** A versioned count from the stream (or a snapshot): kept only when newer than what is known. */
function withVersionedCount(likes: Likes, key: string, count: number, version: number, allowEqual = false): Likes {
  const existing = likes[key];
  if (existing && existing.version !== null) {
    if (version < existing.version || (version === existing.version && (!allowEqual || count === existing.count))) return likes;
  }
  return { ...likes, [key]: { liked: false, pending: undefined, ...existing, count, version } };
}

function requested(likes: Likes, key: string, liked: boolean): Likes {
  const like = likes[key];
  if (!like || like.pending) return likes;
  const delta = liked === like.liked ? 0 : liked ? 1 : -1;
  return {
    ...likes,
    [key]: {
      ...like,
      count: Math.max(0, like.count + delta),
      liked,
      pending: { previousCount: like.count, previousLiked: like.liked, versionAtRequest: like.version },
    },
  };
}

/**
 * The REST answer carries the count's version, so it is ordered against the stream
 * like any event: it wins only when it is newer than what the stream delivered. An
 * answer without a version wins unless a versioned event arrived while the request
 * was in flight; then the stream already reflects a state at least as new.
 */
function settled(likes: Likes, key: string, result: LikeState): Likes {
  const like = likes[key];
  if (!like) return likes;
  let count: number;
  let version = like.version;
  if (result.version !== undefined) {
    const newer = like.version === null || result.version > like.version;
    count = newer ? result.like_count : like.count;
    if (newer) version = result.version;
  } else {
    const streamMovedOn = like.pending !== undefined && like.version !== like.pending.versionAtRequest;
    count = streamMovedOn ? like.count : result.like_count;
  }
  return { ...likes, [key]: { count, liked: result.liked, version } };
}

function failed(likes: Likes, key: string): Likes {
  const like = likes[key];
  if (!like || !like.pending) return likes;
  const streamMovedOn = like.version !== like.pending.versionAtRequest;
  return {
    ...likes,
    [key]: {
      count: streamMovedOn ? like.count : like.pending.previousCount,
      liked: like.pending.previousLiked,
      version: like.version,
    },
  };
}

export function likesReducer(likes: Likes, event: SingleAppEvent): Likes {
  switch (event.type) {
    case 'feed.loaded':
      return mergeFromRest(likes, 'post', event.posts);
    case 'post.published':
      return mergeFromRest(likes, 'post', [event.post]);
    case 'post.created':
      return likes[likeKey('post', event.post.id)] ? likes : mergeFromRest(likes, 'post', [event.post]);
    case 'thread.loaded': {
      const { comments, ...post } = event.post;
      const withPost = mergeFromRest(likes, 'post', [post]);
      return mergeFromRest(withPost, 'comment', flattenThread(post.id, comments).comments);
    }
    case 'post.restored':
      return mergeFromRest(likes, 'post', [event.post]);
    case 'comment.restored':
      return mergeFromRest(likes, 'comment', [event.comment]);
    case 'comment.created':
    case 'comment.published':
      return likes[likeKey('comment', event.comment.id)] ? likes : mergeFromRest(likes, 'comment', [event.comment]);
    case 'post.likes':
      return withVersionedCount(likes, likeKey('post', event.post_id), event.like_count, event.version);
    case 'comment.likes':
      return withVersionedCount(likes, likeKey('comment', event.comment_id), event.like_count, event.version);
    case 'subscribed':
      // A snapshot of the same version is the same count: taking it changes nothing.
      return event.posts.reduce(
        (current, snapshot) => withVersionedCount(current, likeKey('post', snapshot.id), snapshot.like_count, snapshot.version, true),
        likes,
      );
    case 'like.requested':
      return requested(likes, likeKey(event.target, event.id), event.liked);
    case 'like.settled':
      return settled(likes, likeKey(event.target, event.id), event.result);
    case 'like.failed':
      return failed(likes, likeKey(event.target, event.id));
    default:
      return likes;
  }
}
