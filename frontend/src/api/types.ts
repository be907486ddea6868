/** Shapes of the REST API, as docs/protocol.md describes them. */

export interface User {
  id: number;
  username: string;
}

/** A deleted post or comment keeps its place with empty content and no author. */
export interface Post {
  id: number;
  author: User | null;
  content: string;
  created_at: string;
  like_count: number;
  comment_count: number;
  liked_by_me: boolean;
  deleted: boolean;
}

export interface Comment {
  id: number;
  post_id: number;
  parent_id: number | null;
  author: User | null;
  content: string;
  created_at: string;
  like_count: number;
  liked_by_me: boolean;
  depth: number;
  deleted: boolean;
}

export interface CommentNode extends Comment {
  replies: CommentNode[];
}

export interface PostWithThread extends Post {
  comments: CommentNode[];
  /** The post stream's position, read before the rows. */
  stream_seq?: number;
}

export interface Page<T> {
  results: T[];
  next: string | null;
  /** The feed stream's position, read before the rows. */
  stream_seq?: number;
}

export interface LeaderboardEntry {
  rank: number;
  user: User;
  karma: number;
}

export interface Leaderboard {
  window_hours: number;
  entries: LeaderboardEntry[];
}

export interface UserProfile extends User {
  karma_24h: number;
  karma_total: number;
}

export interface LikeState {
  liked: boolean;
  like_count: number;
  /** The count's version, as in post.likes / comment.likes events (absent from older servers). */
  version?: number;
}

export interface Credentials {
  username: string;
  password: string;
}
