import { createContext, useContext, useEffect } from 'react';
import type { ConnectionStatus } from './LiveSocket';

export interface ConnectionContextValue {
  status: ConnectionStatus;
  /** Follows these posts until the returned function is called. */
  follow: (postIds: readonly number[]) => () => void;
  /** The state on screen is that of `seq` in `stream` (a REST answer's `stream_seq`). */
  setStreamPosition: (stream: string, seq: number) => void;
  /** Runs the handler with the streams to read afresh, until the returned function is called. */
  onResync: (handler: (streams: readonly string[]) => void) => () => void;
}

export const ConnectionContext = createContext<ConnectionContextValue | null>(null);

export function useConnection(): ConnectionContextValue {
  const value = useContext(ConnectionContext);
  if (!value) throw new Error('useConnection must be used inside <LiveProvider>');
  return value;
}

export function useConnectionStatus(): ConnectionStatus {
  return useConnection().status;
}

/** Keeps the given posts followed while the calling component is mounted. */
export function useFollowPosts(postIds: readonly number[]): void {
  const { follow } = useConnection();
  const key = postIds.join(',');
  useEffect(() => (key === '' ? undefined : follow(key.split(',').map(Number))), [follow, key]);
}

/** Runs `handler` whenever `stream` could not be resumed and must be read afresh. */
export function useOnResync(stream: string, handler: () => void): void {
  const { onResync } = useConnection();
  useEffect(
    () =>
      onResync((streams) => {
        if (streams.includes(stream)) handler();
      }),
    [onResync, stream, handler],
  );
}
