import type { Comment, Leaderboard, LikeState, Post, PostWithThread, User } from '../api/types';
import type { ServerEvent } from '../realtime/events';

/** What the screen showed before an optimistic like, so a failure can put it back. */
export interface PendingLike {
  previousCount: number;
  previousLiked: boolean;
  /** The highest version known when the request left; later versions win over the REST answer. */
  versionAtRequest: number | null;
}

export interface FeedState {
  /** Posts shown, newest first. */
  ids: number[];
  /** Posts by others that arrived live and wait behind the "new posts" pill, newest first. */
  newIds: number[];
  next: string | null;
  loaded: boolean;
}

export interface LiveState {
  me: User | null;
  posts: Record<number, Post>;
  postVersions: Record<number, number>;
  pendingPostLikes: Record<number, PendingLike>;
  comments: Record<number, Comment>;
  commentVersions: Record<number, number>;
  pendingCommentLikes: Record<number, PendingLike>;
  /** Child comment ids, oldest first, keyed by `childrenKey(postId, parentId)`. */
  children: Record<string, number[]>;
  loadedThreads: Record<number, true>;
  /** Comments that arrived while the page was open, highlighted for a moment. */
  freshCommentIds: Record<number, true>;
  feed: FeedState;
  leaderboard: Leaderboard | null;
  /** Once the socket has spoken, a slower REST answer must not overwrite it. */
  leaderboardFromSocket: boolean;
}

export type LikeTarget = 'post' | 'comment';

/** Things the app itself learns (REST answers, user actions) that change live state. */
export type LocalEvent =
  | { type: 'session.changed'; user: User | null }
  | { type: 'feed.loaded'; posts: Post[]; next: string | null; mode: 'replace' | 'append' | 'refresh' }
  | { type: 'feed.revealNew' }
  | { type: 'post.published'; post: Post }
  | { type: 'thread.loaded'; post: PostWithThread }
  | { type: 'comment.published'; comment: Comment }
  | { type: 'comments.highlightExpired'; ids: number[] }
  | { type: 'like.requested'; target: LikeTarget; id: number; liked: boolean }
  | { type: 'like.settled'; target: LikeTarget; id: number; result: LikeState }
  | { type: 'like.failed'; target: LikeTarget; id: number }
  | { type: 'leaderboard.loaded'; leaderboard: Leaderboard };

export type AppEvent = ServerEvent | LocalEvent;
