import type { Comment, LeaderboardEntry, Post, User } from '../api/types';

/*
 * Every message the server sends on /ws/, as docs/protocol.md ("Websocket") describes them.
 * Events may carry extra fields (for example a numeric `ts`); they are ignored.
 */

/** Where an event stands in its stream (docs/protocol.md, "Streams, positions and resume"). */
interface StreamPosition {
  stream?: string;
  seq?: number;
}

export interface HelloEvent {
  type: 'hello';
  user: User | null;
  /** The life of the streams: positions from another epoch are void. */
  epoch?: string;
  /** The `feed` stream's position when the socket joined it. */
  feed_seq?: number;
}

interface LeaderboardEvent extends StreamPosition {
  type: 'leaderboard';
  window_hours: number;
  entries: LeaderboardEntry[];
}

export interface PostSnapshot {
  id: number;
  like_count: number;
  comment_count: number;
  version: number;
  /** The post stream's position when this snapshot was read. */
  seq?: number;
  /** How many sockets follow the post, this one included. */
  viewers?: number;
}

interface SubscribedEvent {
  type: 'subscribed';
  posts: PostSnapshot[];
}

interface PostCreatedEvent extends StreamPosition {
  type: 'post.created';
  post: Post;
}

interface PostLikesEvent extends StreamPosition {
  type: 'post.likes';
  post_id: number;
  like_count: number;
  version: number;
}

interface CommentCreatedEvent extends StreamPosition {
  type: 'comment.created';
  post_id: number;
  comment: Comment;
  comment_count: number;
}

interface CommentLikesEvent extends StreamPosition {
  type: 'comment.likes';
  post_id: number;
  comment_id: number;
  like_count: number;
  version: number;
}

interface PostDeletedEvent extends StreamPosition {
  type: 'post.deleted';
  post_id: number;
}

interface CommentDeletedEvent extends StreamPosition {
  type: 'comment.deleted';
  post_id: number;
  comment_id: number;
  comment_count: number;
}

/** A deleted post is back (admin restore), whole. */
interface PostRestoredEvent extends StreamPosition {
  type: 'post.restored';
  post: Post;
}

/** A deleted comment is back (admin restore), whole, to fill its placeholder. */
interface CommentRestoredEvent extends StreamPosition {
  type: 'comment.restored';
  post_id: number;
  comment: Comment;
  comment_count: number;
}

/** Presence, not history: in no stream. */
interface PostViewersEvent {
  type: 'post.viewers';
  post_id: number;
  count: number;
}

export interface ResumedEvent {
  type: 'resumed';
  recovered: string[];
  resync: string[];
}

interface PongEvent {
  type: 'pong';
}

interface ServerErrorEvent {
  type: 'error';
  code: string;
  detail: string;
}

/** An event that may appear on its own or inside a batch. */
export type SingleServerEvent =
  | HelloEvent
  | LeaderboardEvent
  | SubscribedEvent
  | PostCreatedEvent
  | PostLikesEvent
  | CommentCreatedEvent
  | CommentLikesEvent
  | PostDeletedEvent
  | CommentDeletedEvent
  | PostRestoredEvent
  | CommentRestoredEvent
  | PostViewersEvent
  | ResumedEvent
  | PongEvent
  | ServerErrorEvent;

interface BatchEvent {
  type: 'batch';
  events: ServerEvent[];
}

export type ServerEvent = SingleServerEvent | BatchEvent;

export type ClientMessage =
  | { type: 'subscribe'; post_ids: number[] }
  | { type: 'unsubscribe'; post_ids: number[] }
  | { type: 'ping' }
  | { type: 'resume'; epoch: string; positions: Record<string, number> };

const KNOWN_TYPES = new Set<string>([
  'hello',
  'leaderboard',
  'subscribed',
  'post.created',
  'post.likes',
  'comment.created',
  'comment.likes',
  'post.deleted',
  'comment.deleted',
  'post.restored',
  'comment.restored',
  'post.viewers',
  'resumed',
  'pong',
  'error',
  'batch',
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks the envelope of a decoded frame. Unknown types are dropped so that a
 * newer server can add messages without breaking older tabs; a batch keeps only
 * the entries it recognises, in order.
 */
function toServerEvent(value: unknown): ServerEvent | null {
  if (!isRecord(value) || typeof value.type !== 'string' || !KNOWN_TYPES.has(value.type)) return null;
  if (value.type === 'batch') {
    if (!Array.isArray(value.events)) return null;
    const events: ServerEvent[] = [];
    for (const entry of value.events) {
      const event = toServerEvent(entry);
      if (event) events.push(event);
    }
    return { type: 'batch', events };
  }
  return value as unknown as ServerEvent;
}

export function parseServerFrame(data: unknown): ServerEvent | null {
  if (typeof data !== 'string') return null;
  try {
    return toServerEvent(JSON.parse(data));
  } catch {
    return null;
  }
}

/** Flattens nested batches into the single events they carry, in order. */
export function flattenEvents(event: ServerEvent): SingleServerEvent[] {
  const out: SingleServerEvent[] = [];
  const stack: ServerEvent[] = [event];
  while (stack.length > 0) {
    const next = stack.pop() as ServerEvent;
    if (next.type === 'batch') {
      for (let i = next.events.length - 1; i >= 0; i -= 1) stack.push(next.events[i] as ServerEvent);
    } else {
      out.push(next);
    }
  }
  return out;
}
