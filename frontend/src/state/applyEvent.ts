import type { Comment, CommentNode, LikeState, Post } from '../api/types';
import type {
  CommentCreatedEvent,
  CommentLikesEvent,
  PostCreatedEvent,
  PostLikesEvent,
  SubscribedEvent,
} from '../realtime/events';
import { childrenKey, compareComments, flattenThread } from './commentTree';
import type { AppEvent, LikeTarget, LiveState, LocalEvent, PendingLike } from './types';

export const initialLiveState: LiveState = {
  me: null,
  posts: {},
  postVersions: {},
  pendingPostLikes: {},
  comments: {},
  commentVersions: {},
  pendingCommentLikes: {},
  children: {},
  loadedThreads: {},
  freshCommentIds: {},
  feed: { ids: [], newIds: [], next: null, loaded: false },
  leaderboard: null,
  leaderboardFromSocket: false,
};

/**
 * The single place where live state changes. Pure: the same state and event
 * always give the same result, and nothing outside is touched.
 *
 * Rules that keep many tabs and a reconnecting socket in agreement:
 * - Like counts carry a `version`; a count is replaced only by a higher version,
 *   so late or duplicated events never move a count backwards.
 * - Comments are keyed by id, so a comment that arrives twice (live event and
 *   REST answer, or a re-sent batch) is stored once.
 * - Comment counts only grow (the contract has no deletion), so the larger of
 *   two answers is the newer one.
 */
export function applyEvent(state: LiveState, event: AppEvent): LiveState {
  switch (event.type) {
    case 'batch':
      return event.events.reduce<LiveState>((current, inner) => applyEvent(current, inner), state);
    case 'hello':
      return sameUser(state.me, event.user) ? state : { ...state, me: event.user };
    case 'leaderboard':
      return {
        ...state,
        leaderboard: { window_hours: event.window_hours, entries: event.entries },
        leaderboardFromSocket: true,
      };
    case 'subscribed':
      return applySnapshot(state, event);
    case 'post.created':
      return applyPostCreated(state, event);
    case 'post.likes':
      return applyPostLikes(state, event);
    case 'comment.created':
      return applyCommentCreated(state, event);
    case 'comment.likes':
      return applyCommentLikes(state, event);
    case 'pong':
    case 'error':
    case 'resumed':
    case 'post.deleted':
    case 'comment.deleted':
    case 'post.viewers':
      return state;
    default:
      return applyLocalEvent(state, event);
  }
}

function applyLocalEvent(state: LiveState, event: LocalEvent): LiveState {
  switch (event.type) {
    case 'session.changed':
      return sameUser(state.me, event.user) ? state : { ...state, me: event.user };
    case 'feed.loaded':
      return applyFeedLoaded(state, event.posts, event.next, event.mode);
    case 'feed.revealNew':
      return revealNewPosts(state);
    case 'post.published':
      return applyOwnPost(state, event.post);
    case 'thread.loaded':
      return applyThreadLoaded(state, event.post);
    case 'comment.published':
      return insertComment(state, event.comment, null);
    case 'comments.highlightExpired': {
      const fresh = { ...state.freshCommentIds };
      for (const id of event.ids) delete fresh[id];
      return { ...state, freshCommentIds: fresh };
    }
    case 'like.requested':
      return applyLikeRequested(state, event.target, event.id, event.liked);
    case 'like.settled':
      return applyLikeSettled(state, event.target, event.id, event.result);
    case 'like.failed':
      return applyLikeFailed(state, event.target, event.id);
    case 'leaderboard.loaded':
      return state.leaderboardFromSocket ? state : { ...state, leaderboard: event.leaderboard };
  }
}

function sameUser(a: LiveState['me'], b: LiveState['me']): boolean {
  return a?.id === b?.id && a?.username === b?.username;
}

/* ----------------------------------------------------------------- posts */

/**
 * Stores a post from a REST answer. While the socket has told us a versioned
 * like count, that count stays: the stream is the ordered source of truth and
 * a REST page may have been read before the latest like. Whether *I* liked it
 * is only known to REST, unless a like of mine is in flight.
 */
function mergePost(state: LiveState, post: Post): Post {
  const existing = state.posts[post.id];
  if (!existing) return post;
  const hasVersion = state.postVersions[post.id] !== undefined;
  const pending = state.pendingPostLikes[post.id];
  return {
    ...post,
    like_count: hasVersion || pending ? existing.like_count : post.like_count,
    liked_by_me: pending ? existing.liked_by_me : post.liked_by_me,
    comment_count: Math.max(existing.comment_count, post.comment_count),
  };
}

function withPosts(state: LiveState, posts: Post[]): Record<number, Post> {
  const next = { ...state.posts };
  for (const post of posts) next[post.id] = mergePost(state, post);
  return next;
}

function byNewest(posts: Record<number, Post>) {
  return (a: number, b: number): number => {
    const left = posts[a]?.created_at ?? '';
    const right = posts[b]?.created_at ?? '';
    if (left !== right) return left < right ? 1 : -1;
    return b - a;
  };
}

function applyFeedLoaded(
  state: LiveState,
  posts: Post[],
  next: string | null,
  mode: 'replace' | 'append' | 'refresh',
): LiveState {
  const merged = withPosts(state, posts);
  const pageIds = posts.map((post) => post.id);
  if (mode === 'replace') {
    const shown = new Set(pageIds);
    return {
      ...state,
      posts: merged,
      feed: { ids: pageIds, newIds: state.feed.newIds.filter((id) => !shown.has(id)), next, loaded: true },
    };
  }
  if (mode === 'append') {
    const known = new Set([...state.feed.ids, ...state.feed.newIds]);
    const added = pageIds.filter((id) => !known.has(id));
    return { ...state, posts: merged, feed: { ...state.feed, ids: [...state.feed.ids, ...added], next, loaded: true } };
  }
  // 'refresh': the first page read again after the socket was away. Posts that
  // are not on screen yet join the pill instead of pushing the page down.
  const known = new Set([...state.feed.ids, ...state.feed.newIds]);
  const newest = state.feed.ids[0] === undefined ? undefined : merged[state.feed.ids[0]];
  const missed = pageIds.filter((id) => {
    if (known.has(id)) return false;
    const post = merged[id];
    return !newest || (post !== undefined && byNewest(merged)(id, newest.id) < 0);
  });
  const newIds = [...missed, ...state.feed.newIds].sort(byNewest(merged));
  return { ...state, posts: merged, feed: { ...state.feed, newIds } };
}

function applyPostCreated(state: LiveState, event: PostCreatedEvent): LiveState {
  const { post } = event;
  if (state.posts[post.id]) return state;
  const posts = { ...state.posts, [post.id]: post };
  if (state.me !== null && post.author.id === state.me.id) {
    return { ...state, posts, feed: { ...state.feed, ids: [post.id, ...state.feed.ids] } };
  }
  return { ...state, posts, feed: { ...state.feed, newIds: [post.id, ...state.feed.newIds] } };
}

function applyOwnPost(state: LiveState, post: Post): LiveState {
  const posts = { ...state.posts, [post.id]: mergePost(state, post) };
  const newIds = state.feed.newIds.filter((id) => id !== post.id);
  const ids = state.feed.ids.includes(post.id) ? state.feed.ids : [post.id, ...state.feed.ids];
  return { ...state, posts, feed: { ...state.feed, ids, newIds } };
}

function revealNewPosts(state: LiveState): LiveState {
  if (state.feed.newIds.length === 0) return state;
  const shown = new Set(state.feed.ids);
  const revealed = state.feed.newIds.filter((id) => !shown.has(id));
  const ids = [...revealed, ...state.feed.ids].sort(byNewest(state.posts));
  return { ...state, feed: { ...state.feed, ids, newIds: [] } };
}

function applyPostLikes(state: LiveState, event: PostLikesEvent): LiveState {
  const known = state.postVersions[event.post_id];
  if (known !== undefined && event.version <= known) return state;
  const postVersions = { ...state.postVersions, [event.post_id]: event.version };
  const post = state.posts[event.post_id];
  if (!post) return { ...state, postVersions };
  return { ...state, postVersions, posts: { ...state.posts, [post.id]: { ...post, like_count: event.like_count } } };
}

function applySnapshot(state: LiveState, event: SubscribedEvent): LiveState {
  let posts = state.posts;
  let postVersions = state.postVersions;
  for (const snapshot of event.posts) {
    const known = postVersions[snapshot.id];
    const post = posts[snapshot.id];
    const newerCount = known === undefined || snapshot.version >= known;
    if (newerCount && known !== snapshot.version) {
      postVersions = postVersions === state.postVersions ? { ...postVersions } : postVersions;
      postVersions[snapshot.id] = snapshot.version;
    }
    if (!post) continue;
    const likeCount = newerCount ? snapshot.like_count : post.like_count;
    const commentCount = Math.max(post.comment_count, snapshot.comment_count);
    if (likeCount === post.like_count && commentCount === post.comment_count) continue;
    posts = posts === state.posts ? { ...posts } : posts;
    posts[snapshot.id] = { ...post, like_count: likeCount, comment_count: commentCount };
  }
  return posts === state.posts && postVersions === state.postVersions ? state : { ...state, posts, postVersions };
}

/* -------------------------------------------------------------- comments */

function mergeComment(state: LiveState, comment: Comment): Comment {
  const existing = state.comments[comment.id];
  if (!existing) return comment;
  const hasVersion = state.commentVersions[comment.id] !== undefined;
  const pending = state.pendingCommentLikes[comment.id];
  return {
    ...comment,
    like_count: hasVersion || pending ? existing.like_count : comment.like_count,
    liked_by_me: pending ? existing.liked_by_me : comment.liked_by_me,
  };
}

function insertSorted(ids: number[], comment: Comment, comments: Record<number, Comment>): number[] {
  // Almost always the newest comment, so scan from the end.
  let index = ids.length;
  while (index > 0) {
    const before = comments[ids[index - 1] as number];
    if (!before || compareComments(before, comment) <= 0) break;
    index -= 1;
  }
  return [...ids.slice(0, index), comment.id, ...ids.slice(index)];
}

/** Adds one comment under its parent; a comment already known changes nothing but the count. */
function insertComment(state: LiveState, comment: Comment, commentCount: number | null): LiveState {
  const post = state.posts[comment.post_id];
  const alreadyKnown = state.comments[comment.id] !== undefined;
  let posts = state.posts;
  if (post) {
    // The server's count is the total right after this comment; only our own
    // REST answer, which has none, is counted by hand.
    const nextCount =
      commentCount !== null
        ? Math.max(post.comment_count, commentCount)
        : alreadyKnown
          ? post.comment_count
          : post.comment_count + 1;
    if (nextCount !== post.comment_count) posts = { ...state.posts, [post.id]: { ...post, comment_count: nextCount } };
  }
  if (alreadyKnown) return posts === state.posts ? state : { ...state, posts };

  const comments = { ...state.comments, [comment.id]: comment };
  const key = childrenKey(comment.post_id, comment.parent_id);
  const siblings = state.children[key] ?? [];
  return {
    ...state,
    posts,
    comments,
    children: { ...state.children, [key]: insertSorted(siblings, comment, comments) },
    freshCommentIds: { ...state.freshCommentIds, [comment.id]: true },
  };
}

function applyCommentCreated(state: LiveState, event: CommentCreatedEvent): LiveState {
  return insertComment(state, { ...event.comment, post_id: event.post_id }, event.comment_count);
}

function applyCommentLikes(state: LiveState, event: CommentLikesEvent): LiveState {
  const known = state.commentVersions[event.comment_id];
  if (known !== undefined && event.version <= known) return state;
  const commentVersions = { ...state.commentVersions, [event.comment_id]: event.version };
  const comment = state.comments[event.comment_id];
  if (!comment) return { ...state, commentVersions };
  return {
    ...state,
    commentVersions,
    comments: { ...state.comments, [comment.id]: { ...comment, like_count: event.like_count } },
  };
}

/**
 * Merges a whole thread read over REST with what the socket already delivered:
 * comments that arrived live while the request was in flight are kept, and
 * every parent's children are put back in oldest-first order.
 */
function applyThreadLoaded(state: LiveState, thread: Post & { comments: CommentNode[] }): LiveState {
  const { comments: roots, ...post } = thread;
  const { comments: flat, children: restChildren } = flattenThread(post.id, roots);
  const comments = { ...state.comments };
  for (const comment of flat) comments[comment.id] = mergeComment(state, comment);
  const children = { ...state.children };
  for (const [key, ids] of restChildren) {
    const existing = state.children[key];
    if (!existing) {
      children[key] = ids;
      continue;
    }
    const union = [...new Set([...ids, ...existing])];
    union.sort((a, b) => compareComments(comments[a] as Comment, comments[b] as Comment));
    children[key] = union;
  }
  const knownCount = Object.keys(comments).length > 0 ? countCommentsOfPost(comments, post.id) : 0;
  const merged = mergePost(state, post);
  const posts = { ...state.posts, [post.id]: { ...merged, comment_count: Math.max(merged.comment_count, knownCount) } };
  return { ...state, posts, comments, children, loadedThreads: { ...state.loadedThreads, [post.id]: true } };
}

function countCommentsOfPost(comments: Record<number, Comment>, postId: number): number {
  let count = 0;
  for (const comment of Object.values(comments)) if (comment.post_id === postId) count += 1;
  return count;
}

/* ----------------------------------------------------------------- likes */

interface LikeSlot {
  count: number;
  liked: boolean;
  version: number | null;
  pending: PendingLike | undefined;
}

function readLike(state: LiveState, target: LikeTarget, id: number): LikeSlot | null {
  const item = target === 'post' ? state.posts[id] : state.comments[id];
  if (!item) return null;
  const versions = target === 'post' ? state.postVersions : state.commentVersions;
  const pending = target === 'post' ? state.pendingPostLikes[id] : state.pendingCommentLikes[id];
  return { count: item.like_count, liked: item.liked_by_me, version: versions[id] ?? null, pending };
}

function writeLike(
  state: LiveState,
  target: LikeTarget,
  id: number,
  values: { count: number; liked: boolean },
  pending: PendingLike | null,
): LiveState {
  if (target === 'post') {
    const post = state.posts[id] as Post;
    const pendingPostLikes = { ...state.pendingPostLikes };
    if (pending) pendingPostLikes[id] = pending;
    else delete pendingPostLikes[id];
    return {
      ...state,
      posts: { ...state.posts, [id]: { ...post, like_count: values.count, liked_by_me: values.liked } },
      pendingPostLikes,
    };
  }
  const comment = state.comments[id] as Comment;
  const pendingCommentLikes = { ...state.pendingCommentLikes };
  if (pending) pendingCommentLikes[id] = pending;
  else delete pendingCommentLikes[id];
  return {
    ...state,
    comments: { ...state.comments, [id]: { ...comment, like_count: values.count, liked_by_me: values.liked } },
    pendingCommentLikes,
  };
}

function applyLikeRequested(state: LiveState, target: LikeTarget, id: number, liked: boolean): LiveState {
  const slot = readLike(state, target, id);
  if (!slot || slot.pending) return state;
  const delta = liked === slot.liked ? 0 : liked ? 1 : -1;
  return writeLike(
    state,
    target,
    id,
    { count: Math.max(0, slot.count + delta), liked },
    { previousCount: slot.count, previousLiked: slot.liked, versionAtRequest: slot.version },
  );
}

/**
 * The REST answer carries the count's version, so it is ordered against the stream
 * like any event: it wins only when it is newer than what the stream delivered. An
 * answer without a version (an older server) wins unless a versioned event arrived
 * while the request was in flight; then the stream already reflects a state at
 * least as new, and the count stays.
 */
function applyLikeSettled(state: LiveState, target: LikeTarget, id: number, result: LikeState): LiveState {
  const slot = readLike(state, target, id);
  if (!slot) return state;
  if (result.version !== undefined) {
    const newer = slot.version === null || result.version > slot.version;
    const settled = writeLike(state, target, id, { count: newer ? result.like_count : slot.count, liked: result.liked }, null);
    return newer ? withLikeVersion(settled, target, id, result.version) : settled;
  }
  const streamMovedOn = slot.pending !== undefined && slot.version !== slot.pending.versionAtRequest;
  return writeLike(state, target, id, { count: streamMovedOn ? slot.count : result.like_count, liked: result.liked }, null);
}

function withLikeVersion(state: LiveState, target: LikeTarget, id: number, version: number): LiveState {
  return target === 'post'
    ? { ...state, postVersions: { ...state.postVersions, [id]: version } }
    : { ...state, commentVersions: { ...state.commentVersions, [id]: version } };
}

function applyLikeFailed(state: LiveState, target: LikeTarget, id: number): LiveState {
  const slot = readLike(state, target, id);
  if (!slot || !slot.pending) return state;
  const streamMovedOn = slot.version !== slot.pending.versionAtRequest;
  return writeLike(
    state,
    target,
    id,
    { count: streamMovedOn ? slot.count : slot.pending.previousCount, liked: slot.pending.previousLiked },
    null,
  );
}

