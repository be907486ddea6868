import { flattenEvents, parseServerFrame, type ClientMessage, type ServerEvent, type SingleServerEvent } from './events';
import { MAX_FOLLOWED_POSTS } from '../generated/limits';
import { FEED_STREAM, postStream, StreamTracker } from './streams';

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';

/** The part of the browser WebSocket the class relies on, so tests can pass a fake. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

export interface BackoffOptions {
  baseMs: number;
  factor: number;
  maxMs: number;
}

export interface LiveSocketOptions {
  url: string;
  createSocket?: WebSocketFactory;
  backoff?: Partial<BackoffOptions>;
  /** Source of randomness for the jitter; injectable so tests are deterministic. */
  random?: () => number;
  pingIntervalMs?: number;
  /** How long to wait for any frame after a ping before the connection is treated as dead. */
  pongTimeoutMs?: number;
  /** After this many failed attempts in a row the status reads 'offline' (retries go on). */
  offlineAfterFailures?: number;
  /** The server follows at most this many posts per socket. */
  maxFollowed?: number;
}

export interface LiveSocketListener {
  onEvent?: (event: ServerEvent) => void;
  onStatus?: (status: ConnectionStatus) => void;
  /** Called once the socket is open and the follow list has been sent again. */
  onOpen?: (info: { reconnected: boolean }) => void;
  /**
   * These streams could not be resumed (a hole too old, another epoch, no
   * position): whoever shows them reads them afresh over REST and hands the
   * answer's `stream_seq` to `setPosition`.
   */
  onResync?: (streams: string[]) => void;
}

const OPEN = 1;
const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, factor: 2, maxMs: 30_000 };

/**
 * Delay before reconnect attempt number `attempt` (1-based): exponential growth,
 * capped, with "equal jitter" (half fixed, half random) so that many tabs
 * dropped by the same server restart do not all come back in the same instant.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const exponential = options.baseMs * options.factor ** Math.max(0, attempt - 1);
  const capped = Math.min(options.maxMs, exponential);
  return Math.round(capped / 2 + (capped / 2) * random());
}

export function defaultSocketUrl(location: Pick<Location, 'protocol' | 'host'> = window.location): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws/`;
}

/**
 * One websocket to /ws/ that stays up: reconnects with backoff, keeps the
 * follow list across reconnects, and keeps the connection honest with pings.
 * It keeps a position per stream: repeats never reach the listeners, a hole
 * or a reconnect sends `resume`, and what cannot be resumed is handed to
 * `onResync`.
 */
export class LiveSocket {
  private readonly url: string;
  private readonly createSocket: WebSocketFactory;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private readonly pingIntervalMs: number;
  private readonly pongTimeoutMs: number;
  private readonly offlineAfterFailures: number;
  private readonly maxFollowed: number;

  private socket: WebSocketLike | null = null;
  private currentStatus: ConnectionStatus = 'offline';
  private running = false;
  private failedAttempts = 0;
  private hasBeenLive = false;
  private followed = new Set<number>();
  private readonly streams = new StreamTracker();
  private readonly listeners = new Set<LiveSocketListener>();
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(options: LiveSocketOptions) {
    this.url = options.url;
    this.createSocket = options.createSocket ?? ((url) => new WebSocket(url) as unknown as WebSocketLike);
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.random = options.random ?? Math.random;
    this.pingIntervalMs = options.pingIntervalMs ?? 25_000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 10_000;
    this.offlineAfterFailures = options.offlineAfterFailures ?? 6;
    this.maxFollowed = options.maxFollowed ?? MAX_FOLLOWED_POSTS;
  }

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  get followedPostIds(): number[] {
    return [...this.followed];
  }

  addListener(listener: LiveSocketListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.failedAttempts = 0;
    this.hasBeenLive = false;
    this.open();
  }

  /** Closes cleanly and stops reconnecting. */
  stop(): void {
    this.running = false;
    this.clearTimers();
    this.dropSocket(1000, 'client closing');
    this.setStatus('offline');
  }

  /**
   * Opens a fresh connection now, skipping any pending backoff. Used when the
   * session changes (login, logout) and when the browser comes back online.
   */
  reconnectNow(): void {
    if (!this.running) return;
    this.clearTimers();
    this.dropSocket(1000, 'reconnecting');
    this.failedAttempts = 0;
    this.open();
  }

  /** The state on screen is that of `seq` in this stream (a REST answer's `stream_seq`). */
  setPosition(stream: string, seq: number): void {
    this.streams.set(stream, seq);
  }

  /** Declares the posts to follow; only the difference goes over the wire. */
  follow(postIds: Iterable<number>): void {
    const next = new Set<number>();
    for (const id of postIds) {
      if (next.size >= this.maxFollowed) break;
      next.add(id);
    }
    const added = [...next].filter((id) => !this.followed.has(id));
    const removed = [...this.followed].filter((id) => !next.has(id));
    this.followed = next;
    // Events of a post nobody follows stop coming, so its position goes stale.
    for (const id of removed) this.streams.forget(postStream(id));
    if (this.currentStatus !== 'live') return;
    // Unsubscribe first so the server's per-socket limit is never crossed in between.
    if (removed.length > 0) this.send({ type: 'unsubscribe', post_ids: removed });
    if (added.length > 0) this.send({ type: 'subscribe', post_ids: added });
  }

  private open(): void {
    this.streams.connectionLost();
    this.setStatus(this.hasBeenLive || this.failedAttempts > 0 ? this.retryStatus() : 'connecting');
    let socket: WebSocketLike;
    try {
      socket = this.createSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      const reconnected = this.hasBeenLive;
      this.failedAttempts = 0;
      this.hasBeenLive = true;
      this.setStatus('live');
      // Resume before subscribing: the replay comes before the snapshots and any newer event.
      const unresumable = reconnected ? this.resumeStreams([FEED_STREAM, ...[...this.followed].map(postStream)]) : [];
      if (this.followed.size > 0) this.send({ type: 'subscribe', post_ids: [...this.followed] });
      this.startKeepalive();
      for (const listener of this.listeners) listener.onOpen?.({ reconnected });
      this.emitResync(unresumable);
    };
    socket.onmessage = (message) => {
      if (this.socket !== socket) return;
      // Any frame proves the connection is alive, not only a pong.
      this.clearPongTimer();
      const event = parseServerFrame(message.data);
      if (event) this.receive(event);
    };
    socket.onerror = () => {
      // A close event always follows; reconnecting is handled there.
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.handleLost();
    };
  }

  /** Passes on what is new, in order; repeats are dropped, holes resumed, resyncs announced after. */
  private receive(frame: ServerEvent): void {
    const kept: SingleServerEvent[] = [];
    const resync: string[] = [];
    for (const event of flattenEvents(frame)) {
      if (event.type === 'hello') resync.push(...this.streams.hello(event));
      else if (event.type === 'subscribed') this.streams.subscribed(event.posts);
      else if (event.type === 'resumed') resync.push(...this.streams.resumed(event));
      const verdict = this.streams.admit(event);
      if (verdict === 'apply') kept.push(event);
      else if (verdict === 'gap' && 'stream' in event && typeof event.stream === 'string') {
        resync.push(...this.resumeStreams([event.stream]));
      }
    }
    const delivered: ServerEvent | null =
      frame.type !== 'batch' && kept.length === 1 ? (kept[0] as SingleServerEvent) : kept.length > 0 ? { type: 'batch', events: kept } : null;
    if (delivered) for (const listener of this.listeners) listener.onEvent?.(delivered);
    this.emitResync(resync);
  }

  /** Sends `resume` for the streams that have a position; returns those that have none. */
  private resumeStreams(streams: string[]): string[] {
    const { message, unresumable } = this.streams.resume(streams);
    if (message) this.send(message);
    for (const stream of unresumable) this.streams.forget(stream);
    return unresumable;
  }

  private emitResync(streams: string[]): void {
    if (streams.length === 0) return;
    const unique = [...new Set(streams)];
    for (const listener of this.listeners) listener.onResync?.(unique);
  }

  private handleLost(): void {
    this.socket = null;
    this.stopKeepalive();
    if (!this.running) return;
    this.scheduleReconnect();
  }

  private retryStatus(): ConnectionStatus {
    return this.failedAttempts >= this.offlineAfterFailures ? 'offline' : 'reconnecting';
  }

  private scheduleReconnect(): void {
    this.failedAttempts += 1;
    this.setStatus(this.retryStatus());
    const delay = backoffDelay(this.failedAttempts, this.backoff, this.random);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.running) this.open();
    }, delay);
  }

  private startKeepalive(): void {
    this.stopKeepalive();
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: 'ping' })) return;
      if (this.pongTimer === null) {
        this.pongTimer = setTimeout(() => {
          this.pongTimer = null;
          // No frame at all since the ping: the connection is half-open. Drop it
          // without waiting for a close handshake that may never come.
          this.dropSocket(4000, 'keepalive timeout');
          this.handleLost();
        }, this.pongTimeoutMs);
      }
    }, this.pingIntervalMs);
  }

  private stopKeepalive(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.clearPongTimer();
  }

  private clearPongTimer(): void {
    if (this.pongTimer !== null) clearTimeout(this.pongTimer);
    this.pongTimer = null;
  }

  private clearTimers(): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.stopKeepalive();
  }

  private dropSocket(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
    try {
      socket.close(code, reason);
    } catch {
      // Closing a socket that never opened can throw in some browsers; it is gone either way.
    }
  }

  private send(message: ClientMessage): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    for (const listener of this.listeners) listener.onStatus?.(status);
  }
}
