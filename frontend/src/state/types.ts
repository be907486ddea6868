import type { Comment, Leaderboard, LikeState, Post, PostWithThread, User } from '../api/types';
import type { ServerEvent } from '../realtime/events';

/** A post as stored: its like count and "liked by me" live in `likes`, keyed by target. */
export type PostRecord = Omit<Post, 'like_count' | 'liked_by_me'>;
/** A comment as stored; its like lives in `likes` too. */
export type CommentRecord = Omit<Comment, 'like_count' | 'liked_by_me'>;

export type LikeTarget = 'post' | 'comment';

/** What the screen showed before an optimistic like, so a failure can put it back. */
interface PendingLike {
  previousCount: number;
  previousLiked: boolean;
  /** The highest version known when the request left; later versions win over the REST answer. */
  versionAtRequest: number | null;
}

/** The like state of one post or comment. */
export interface Like {
  count: number;
  liked: boolean;
  /** The highest version seen for the count (events, snapshots, versioned REST answers). */
  version: number | null;
  pending?: PendingLike;
}

export interface CommentsState {
  byId: Record<number, CommentRecord>;
  /** Child comment ids, oldest first, keyed by `childrenKey(postId, parentId)`. */
  children: Record<string, number[]>;
  loadedThreads: Record<number, true>;
}

export interface FeedState {
  /** Posts shown, newest first. */
  ids: number[];
  /** Posts by others that arrived live and wait behind the "new posts" pill, newest first. */
  newIds: number[];
  next: string | null;
  loaded: boolean;
}

export interface LeaderboardState {
  board: Leaderboard | null;
  /** Once the socket has spoken, a slower REST answer must not overwrite it. */
  fromSocket: boolean;
}

export interface LiveState {
  me: User | null;
  posts: Record<number, PostRecord>;
  comments: CommentsState;
  /** Keyed by `likeKey(target, id)`. */
  likes: Record<string, Like>;
  feed: FeedState;
  leaderboard: LeaderboardState;
  /** How many sockets follow each post right now ("N here"). */
  viewers: Record<number, number>;
}

/** Things the app itself learns (REST answers, user actions) that change live state. */
type LocalEvent =
  | { type: 'session.changed'; user: User | null }
  | { type: 'feed.loaded'; posts: Post[]; next: string | null; mode: 'replace' | 'append' | 'refresh' }
  | { type: 'feed.revealNew' }
  | { type: 'post.published'; post: Post }
  | { type: 'thread.loaded'; post: PostWithThread }
  | { type: 'comment.published'; comment: Comment }
  /** Our own DELETE succeeded; the count drops once, whether or not the event came first. */
  | { type: 'comment.removed'; post_id: number; comment_id: number }
  | { type: 'like.requested'; target: LikeTarget; id: number; liked: boolean }
  | { type: 'like.settled'; target: LikeTarget; id: number; result: LikeState }
  | { type: 'like.failed'; target: LikeTarget; id: number }
  | { type: 'leaderboard.loaded'; leaderboard: Leaderboard };

export type AppEvent = ServerEvent | LocalEvent;

/** An event with batches already taken apart: what each domain reducer sees. */
export type SingleAppEvent = Exclude<AppEvent, { type: 'batch' }>;
