import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServerEvent } from './events';
import { backoffDelay, LiveSocket, type ConnectionStatus, type WebSocketLike } from './LiveSocket';

/** A stand-in for the browser WebSocket that the test drives by hand. */
class FakeSocket implements WebSocketLike {
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  closedWith: number | null = null;
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }

  send(data: string) {
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000) {
    this.closedWith = code;
    this.readyState = 3;
  }

  serverOpens() {
    this.readyState = 1;
    this.onopen?.({});
  }

  serverSends(message: unknown) {
    this.onmessage?.({ data: typeof message === 'string' ? message : JSON.stringify(message) });
  }

  serverDrops() {
    this.readyState = 3;
    this.onclose?.({ code: 1006 });
  }

  static latest(): FakeSocket {
    const socket = FakeSocket.instances[FakeSocket.instances.length - 1];
    if (!socket) throw new Error('no socket was created');
    return socket;
  }
}

function createLiveSocket(options: { random?: () => number } = {}) {
  const statuses: ConnectionStatus[] = [];
  const events: ServerEvent[] = [];
  const opens: boolean[] = [];
  const resyncs: string[][] = [];
  const live = new LiveSocket({
    url: 'ws://127.0.0.1/ws/',
    createSocket: (url) => new FakeSocket(url),
    random: options.random ?? (() => 0.5),
    backoff: { baseMs: 1000, factor: 2, maxMs: 8000 },
    pingIntervalMs: 20_000,
    pongTimeoutMs: 5_000,
    offlineAfterFailures: 3,
  });
  live.addListener({
    onStatus: (status) => statuses.push(status),
    onEvent: (event) => events.push(event),
    onOpen: ({ reconnected }) => opens.push(reconnected),
    onResync: (streams) => resyncs.push(streams),
  });
  return { live, statuses, events, opens, resyncs };
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.instances = [];
});

afterEach(() => {
  vi.useRealTimers();
});

describe('backoffDelay', () => {
  const options = { baseMs: 500, factor: 2, maxMs: 30_000 };

  it('grows exponentially and stays within [half, full] of the step', () => {
    expect(backoffDelay(1, options, () => 0)).toBe(250);
    expect(backoffDelay(1, options, () => 1)).toBe(500);
    expect(backoffDelay(3, options, () => 0)).toBe(1000);
    expect(backoffDelay(3, options, () => 1)).toBe(2000);
  });

  it('is capped', () => {
    expect(backoffDelay(30, options, () => 1)).toBe(30_000);
    expect(backoffDelay(30, options, () => 0)).toBe(15_000);
  });
});

describe('LiveSocket', () => {
  it('goes connecting -> live and delivers parsed events, batches included', () => {
    const { live, statuses, events } = createLiveSocket();
    live.start();
    expect(statuses).toEqual(['connecting']);
    FakeSocket.latest().serverOpens();
    expect(live.status).toBe('live');
    FakeSocket.latest().serverSends({ type: 'hello', user: null, ts: 123 });
    FakeSocket.latest().serverSends({ type: 'batch', events: [{ type: 'pong' }, { type: 'mystery' }] });
    FakeSocket.latest().serverSends('not json');
    FakeSocket.latest().serverSends({ type: 'unknown.kind' });
    expect(events).toEqual([
      { type: 'hello', user: null, ts: 123 },
      { type: 'batch', events: [{ type: 'pong' }] },
    ]);
  });

  it('reconnects with exponential backoff and reports the status', () => {
    const { live, statuses } = createLiveSocket();
    live.start();
    FakeSocket.latest().serverOpens();
    FakeSocket.latest().serverDrops();
    expect(live.status).toBe('reconnecting');
    expect(FakeSocket.instances).toHaveLength(1);

    // attempt 1: 1000 ms step, jitter 0.5 -> 750 ms
    vi.advanceTimersByTime(749);
    expect(FakeSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.instances).toHaveLength(2);

    // attempt 2 fails: 2000 ms step -> 1500 ms
    FakeSocket.latest().serverDrops();
    vi.advanceTimersByTime(1499);
    expect(FakeSocket.instances).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.instances).toHaveLength(3);

    // attempt 3 fails: the badge now says offline, retries go on (4000 ms step -> 3000 ms)
    FakeSocket.latest().serverDrops();
    expect(live.status).toBe('offline');
    vi.advanceTimersByTime(3000);
    expect(FakeSocket.instances).toHaveLength(4);

    FakeSocket.latest().serverOpens();
    expect(statuses).toEqual(['connecting', 'live', 'reconnecting', 'offline', 'live']);
  });

  it('caps the delay and resets it after a successful connection', () => {
    const { live } = createLiveSocket({ random: () => 1 });
    live.start();
    for (let attempt = 0; attempt < 6; attempt += 1) {
      FakeSocket.latest().serverDrops();
      vi.runOnlyPendingTimers();
    }
    const before = FakeSocket.instances.length;
    FakeSocket.latest().serverDrops();
    vi.advanceTimersByTime(7999);
    expect(FakeSocket.instances).toHaveLength(before);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.instances).toHaveLength(before + 1);

    FakeSocket.latest().serverOpens();
    FakeSocket.latest().serverDrops();
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.instances).toHaveLength(before + 2);
  });

  it('sends only the difference of the follow list while live', () => {
    const { live } = createLiveSocket();
    live.start();
    live.follow([1, 2]);
    const socket = FakeSocket.latest();
    socket.serverOpens();
    expect(socket.sent).toEqual([{ type: 'subscribe', post_ids: [1, 2] }]);
    live.follow([2, 3]);
    expect(socket.sent.slice(1)).toEqual([
      { type: 'unsubscribe', post_ids: [1] },
      { type: 'subscribe', post_ids: [3] },
    ]);
    live.follow([3, 2]);
    expect(socket.sent).toHaveLength(3);
  });

  it('follows at most 100 posts', () => {
    const { live } = createLiveSocket();
    live.start();
    live.follow(Array.from({ length: 150 }, (_, index) => index + 1));
    FakeSocket.latest().serverOpens();
    const [subscribe] = FakeSocket.latest().sent as { post_ids: number[] }[];
    expect(subscribe?.post_ids).toHaveLength(100);
  });

  it('re-subscribes to everything it follows after a reconnect and says so', () => {
    const { live, opens } = createLiveSocket();
    live.start();
    FakeSocket.latest().serverOpens();
    live.follow([7, 8]);
    FakeSocket.latest().serverDrops();
    live.follow([8, 9]);
    vi.runOnlyPendingTimers();
    const second = FakeSocket.latest();
    second.serverOpens();
    expect(second.sent).toEqual([{ type: 'subscribe', post_ids: [8, 9] }]);
    expect(opens).toEqual([false, true]);
  });

  it('pings, and drops a connection that stays silent', () => {
    const { live } = createLiveSocket();
    live.start();
    const socket = FakeSocket.latest();
    socket.serverOpens();
    vi.advanceTimersByTime(20_000);
    expect(socket.sent).toEqual([{ type: 'ping' }]);
    socket.serverSends({ type: 'pong' });
    vi.advanceTimersByTime(20_000);
    expect(socket.sent).toEqual([{ type: 'ping' }, { type: 'ping' }]);
    vi.advanceTimersByTime(5_000);
    expect(socket.closedWith).toBe(4000);
    expect(live.status).toBe('reconnecting');
    vi.runOnlyPendingTimers();
    expect(FakeSocket.instances).toHaveLength(2);
  });

  it('closes cleanly on stop and does not come back', () => {
    const { live, statuses } = createLiveSocket();
    live.start();
    const socket = FakeSocket.latest();
    socket.serverOpens();
    live.stop();
    expect(socket.closedWith).toBe(1000);
    expect(statuses[statuses.length - 1]).toBe('offline');
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('reconnects at once on request, skipping the backoff', () => {
    const { live } = createLiveSocket();
    live.start();
    FakeSocket.latest().serverOpens();
    FakeSocket.latest().serverDrops();
    live.reconnectNow();
    expect(FakeSocket.instances).toHaveLength(2);
    vi.advanceTimersByTime(10_000);
    expect(FakeSocket.instances).toHaveLength(2);
  });

  it('ignores frames from a socket it already replaced', () => {
    const { live, events } = createLiveSocket();
    live.start();
    const old = FakeSocket.latest();
    old.serverOpens();
    const handler = old.onmessage;
    live.reconnectNow();
    handler?.({ data: JSON.stringify({ type: 'pong' }) });
    expect(events).toEqual([]);
  });
});

describe('LiveSocket streams', () => {
  const hello = { type: 'hello', user: null, epoch: 'e1', feed_seq: 10 };
  const likes = (seq: number, count = seq) => ({
    type: 'post.likes',
    post_id: 7,
    like_count: count,
    version: count,
    stream: 'post.7',
    seq,
  });
  const created = (seq: number) => ({
    type: 'post.created',
    post: { id: 100 + seq },
    stream: 'feed',
    seq,
  });

  function connected() {
    const created = createLiveSocket();
    created.live.follow([7]);
    created.live.start();
    const socket = FakeSocket.latest();
    socket.serverOpens();
    socket.serverSends(hello);
    socket.serverSends({ type: 'subscribed', posts: [{ id: 7, like_count: 3, comment_count: 0, version: 3, seq: 3 }] });
    created.events.length = 0;
    socket.sent.length = 0;
    return { ...created, socket };
  }

  it('drops repeats and passes on the next event of each stream', () => {
    const { events, socket } = connected();
    socket.serverSends(likes(3));
    socket.serverSends(likes(4));
    socket.serverSends(likes(4));
    socket.serverSends(created(10));
    socket.serverSends(created(11));
    expect(events.map((event) => ('seq' in event ? event.seq : null))).toEqual([4, 11]);
    expect(socket.sent).toEqual([]);
  });

  it('keeps only what is new inside a batch, in order', () => {
    const { events, socket } = connected();
    socket.serverSends({ type: 'batch', events: [likes(3), created(11), likes(4), { type: 'post.viewers', post_id: 7, count: 2 }] });
    expect(events).toEqual([{ type: 'batch', events: [created(11), likes(4), { type: 'post.viewers', post_id: 7, count: 2 }] }]);
  });

  it('resumes a stream on a hole, once, and applies the replay that follows', () => {
    const { events, socket, resyncs } = connected();
    socket.serverSends(likes(6));
    socket.serverSends(likes(7));
    expect(socket.sent).toEqual([{ type: 'resume', epoch: 'e1', positions: { 'post.7': 3 } }]);
    expect(events).toEqual([]);

    socket.serverSends({ type: 'resumed', recovered: ['post.7'], resync: [] });
    for (const seq of [4, 5, 6, 7]) socket.serverSends(likes(seq));
    socket.serverSends(likes(8));
    const applied = events.filter((event) => event.type === 'post.likes').map((event) => ('seq' in event ? event.seq : null));
    expect(applied).toEqual([4, 5, 6, 7, 8]);
    expect(resyncs).toEqual([]);
  });

  it('announces a stream the server could not resume, and starts it again from the snapshot', () => {
    const { live, socket, resyncs, events } = connected();
    socket.serverSends(likes(9));
    socket.serverSends({ type: 'resumed', recovered: [], resync: ['post.7'] });
    expect(resyncs).toEqual([['post.7']]);
    socket.serverSends({ type: 'subscribed', posts: [{ id: 7, like_count: 9, comment_count: 0, version: 9, seq: 9 }] });
    expect(live).toBeDefined();
    events.length = 0;
    socket.serverSends(likes(10));
    expect(events).toEqual([likes(10)]);
  });

  it('resumes every stream it holds after a reconnect, before subscribing again', () => {
    const { live, socket, resyncs } = connected();
    live.setPosition('post.7', 5);
    socket.serverSends(created(11));
    socket.serverDrops();
    vi.runOnlyPendingTimers();
    const second = FakeSocket.latest();
    second.serverOpens();
    expect(second.sent).toEqual([
      { type: 'resume', epoch: 'e1', positions: { feed: 11, 'post.7': 5 } },
      { type: 'subscribe', post_ids: [7] },
    ]);
    // The same epoch: hello's feed_seq does not move the position the resume starts from.
    second.serverSends({ ...hello, feed_seq: 14 });
    second.serverSends({ type: 'resumed', recovered: ['feed', 'post.7'], resync: [] });
    expect(resyncs).toEqual([]);
  });

  it('reads everything afresh after a reconnect when the server gave no epoch', () => {
    const { live, resyncs } = createLiveSocket();
    live.follow([7]);
    live.start();
    FakeSocket.latest().serverOpens();
    FakeSocket.latest().serverSends({ type: 'hello', user: null });
    FakeSocket.latest().serverDrops();
    vi.runOnlyPendingTimers();
    FakeSocket.latest().serverOpens();
    expect(FakeSocket.latest().sent).toEqual([{ type: 'subscribe', post_ids: [7] }]);
    expect(resyncs).toEqual([['feed', 'post.7']]);
  });

  it('voids every position when the epoch changed', () => {
    const { socket, resyncs, events } = connected();
    socket.serverDrops();
    vi.runOnlyPendingTimers();
    const second = FakeSocket.latest();
    second.serverOpens();
    second.serverSends({ type: 'hello', user: null, epoch: 'e2', feed_seq: 2 });
    expect(resyncs).toEqual([['feed', 'post.7']]);
    // The answer to the resume sent with the old epoch names the same streams: nothing is read twice.
    second.serverSends({ type: 'resumed', recovered: [], resync: ['feed', 'post.7'] });
    expect(resyncs).toHaveLength(1);
    events.length = 0;
    second.serverSends(created(3));
    expect(events).toEqual([created(3)]);
  });

  it('keeps the newest leaderboard and never resumes it', () => {
    const { socket, events } = connected();
    const board = (seq: number) => ({ type: 'leaderboard', window_hours: 24, entries: [], stream: 'leaderboard', seq });
    socket.serverSends(board(4));
    socket.serverSends(board(9));
    socket.serverSends(board(8));
    expect(events).toEqual([board(4), board(9)]);
    expect(socket.sent).toEqual([]);
  });

  it('forgets the position of a post it stops following', () => {
    const { live, socket, events } = connected();
    live.follow([]);
    live.follow([7]);
    socket.serverSends({ type: 'subscribed', posts: [{ id: 7, like_count: 12, comment_count: 0, version: 12, seq: 12 }] });
    events.length = 0;
    socket.serverSends(likes(13));
    expect(events).toEqual([likes(13)]);
    expect(socket.sent.filter((message) => (message as { type: string }).type === 'resume')).toEqual([]);
  });
});
