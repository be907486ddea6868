import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ServerEvent } from './events';
import { defaultSocketUrl, LiveSocket, type ConnectionStatus, type LiveSocketOptions } from './LiveSocket';

export interface UseLiveFeedOptions {
  /** Receives every frame (single events and batches) in arrival order. */
  onEvent: (event: ServerEvent) => void;
  /** Streams that could not be resumed: the screens showing them read them afresh. */
  onResync: (streams: string[]) => void;
  followedPostIds: readonly number[];
  /**
   * Changes when the logged-in user changes; the socket reconnects so the server sees the new
   * session. `null` while the session is still being checked: the socket waits, rather than
   * connect as nobody and at once again as the user.
   */
  sessionKey: string | null;
  socketOptions?: Partial<LiveSocketOptions>;
}

export interface LiveFeed {
  status: ConnectionStatus;
  setStreamPosition: (stream: string, seq: number) => void;
}

/** Adapts one LiveSocket to React: owns its lifetime and exposes its status. */
export function useLiveFeed(options: UseLiveFeedOptions): LiveFeed {
  const { followedPostIds, sessionKey } = options;
  const sessionKnown = sessionKey !== null;
  const [socket] = useState(
    () => new LiveSocket({ url: defaultSocketUrl(), ...options.socketOptions }),
  );
  const [status, setStatus] = useState<ConnectionStatus>(socket.status);
  const callbacks = useRef(options);
  useEffect(() => {
    callbacks.current = options;
  });

  useEffect(() => {
    if (!sessionKnown) return;
    const removeListener = socket.addListener({
      onEvent: (event) => callbacks.current.onEvent(event),
      onStatus: setStatus,
      onResync: (streams) => callbacks.current.onResync(streams),
    });
    socket.start();
    const reconnectWhenOnline = () => socket.reconnectNow();
    window.addEventListener('online', reconnectWhenOnline);
    return () => {
      window.removeEventListener('online', reconnectWhenOnline);
      removeListener();
      socket.stop();
    };
  }, [socket, sessionKnown]);

  const followKey = followedPostIds.join(',');
  useEffect(() => {
    socket.follow(followKey === '' ? [] : followKey.split(',').map(Number));
  }, [socket, followKey]);

  const previousSession = useRef(sessionKey);
  useEffect(() => {
    if (previousSession.current === sessionKey) return;
    const wasKnown = previousSession.current !== null;
    previousSession.current = sessionKey;
    if (wasKnown) socket.reconnectNow();
  }, [socket, sessionKey]);

  const setStreamPosition = useCallback((stream: string, seq: number) => socket.setPosition(stream, seq), [socket]);
  return useMemo(() => ({ status, setStreamPosition }), [status, setStreamPosition]);
}
