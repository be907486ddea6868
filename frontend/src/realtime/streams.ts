import type { HelloEvent, PostSnapshot, ResumedEvent, SingleServerEvent } from './events';

/*
 * Positions per stream (docs/protocol.md, "Streams, positions and resume").
 * Every broadcast event carries its stream and seq; the client keeps, per stream,
 * the last seq it applied, drops repeats, and asks for a resume when it sees a
 * hole. The server's `hello` names the epoch; positions of another epoch are void.
 */

export const FEED_STREAM = 'feed';
const LEADERBOARD_STREAM = 'leaderboard';

export function postStream(postId: number): string {
  return `post.${postId}`;
}

/** What to do with an event: apply it, drop it as a repeat, or drop it and resume the stream. */
export type Verdict = 'apply' | 'repeat' | 'gap';

/**
 * A stream with no position yet starts at its first event. The leaderboard is
 * whole in every frame, so a hole there needs no replay: the newest frame wins.
 */
function judge(stream: string, position: number | undefined, seq: number): Verdict {
  if (position === undefined) return 'apply';
  if (seq <= position) return 'repeat';
  if (seq === position + 1 || stream === LEADERBOARD_STREAM) return 'apply';
  return 'gap';
}

function streamPosition(event: SingleServerEvent): { stream: string; seq: number } | null {
  if (!('seq' in event) || !('stream' in event)) return null;
  const { stream, seq } = event;
  return typeof stream === 'string' && typeof seq === 'number' ? { stream, seq } : null;
}

export interface ResumeMessage {
  type: 'resume';
  epoch: string;
  positions: Record<string, number>;
}

/**
 * The positions one socket holds, and the streams it is resuming. A plain
 * object the socket owns; it sends nothing itself, it answers what to send.
 */
export class StreamTracker {
  private epoch: string | null = null;
  private readonly positions = new Map<string, number>();
  private readonly resuming = new Set<string>();

  position(stream: string): number | undefined {
    return this.positions.get(stream);
  }

  /** A REST answer's `stream_seq`: the state on screen is that of this position. */
  set(stream: string, seq: number): void {
    this.positions.set(stream, seq);
  }

  forget(stream: string): void {
    this.positions.delete(stream);
    this.resuming.delete(stream);
  }

  /**
   * Takes the epoch from `hello`. Returns the streams whose positions it voided
   * (the server lost its history), which must be read afresh.
   */
  hello(event: HelloEvent): string[] {
    let voided: string[] = [];
    if (event.epoch !== undefined && this.epoch !== null && event.epoch !== this.epoch) {
      voided = [...this.positions.keys()];
      this.positions.clear();
      this.resuming.clear();
    }
    if (event.epoch !== undefined) this.epoch = event.epoch;
    if (typeof event.feed_seq === 'number' && !this.positions.has(FEED_STREAM)) {
      this.positions.set(FEED_STREAM, event.feed_seq);
    }
    return voided;
  }

  /**
   * A snapshot's seq starts a post stream that has no position. A stream that has
   * one keeps it: the screen may hold more than counts (a thread), and the resume
   * sent before the subscribe brings what was missed.
   */
  subscribed(posts: readonly PostSnapshot[]): void {
    for (const snapshot of posts) {
      const stream = postStream(snapshot.id);
      if (typeof snapshot.seq === 'number' && !this.positions.has(stream)) this.positions.set(stream, snapshot.seq);
    }
  }

  /** Judges one event and moves the position when it is applied. */
  admit(event: SingleServerEvent): Verdict {
    const at = streamPosition(event);
    if (!at) return 'apply';
    const verdict = judge(at.stream, this.positions.get(at.stream), at.seq);
    if (verdict === 'apply') this.positions.set(at.stream, at.seq);
    return verdict;
  }

  /**
   * The `resume` message for these streams, or null when none can be resumed.
   * Streams left out (no epoch yet, no position) are returned as `unresumable`.
   */
  resume(streams: readonly string[]): { message: ResumeMessage | null; unresumable: string[] } {
    const positions: Record<string, number> = {};
    const unresumable: string[] = [];
    for (const stream of streams) {
      const seq = this.positions.get(stream);
      if (this.epoch === null || seq === undefined) unresumable.push(stream);
      else if (!this.resuming.has(stream)) positions[stream] = seq;
    }
    const named = Object.keys(positions);
    if (this.epoch === null || named.length === 0) return { message: null, unresumable };
    for (const stream of named) this.resuming.add(stream);
    return { message: { type: 'resume', epoch: this.epoch, positions }, unresumable };
  }

  /** Whether a resume for this stream is awaiting its answer. */
  isResuming(stream: string): boolean {
    return this.resuming.has(stream);
  }

  /**
   * Handles `resumed`: returns the streams to read afresh, whose positions are now
   * void. Only streams still awaiting an answer count: a changed epoch voided the rest already.
   */
  resumed(event: ResumedEvent): string[] {
    for (const stream of event.recovered) this.resuming.delete(stream);
    const resync = event.resync.filter((stream) => this.resuming.has(stream));
    for (const stream of resync) this.forget(stream);
    return resync;
  }

  /** A reconnect: answers to resumes sent on the old socket will never come. */
  connectionLost(): void {
    this.resuming.clear();
  }
}
