import { createContext, useContext, useEffect } from 'react';
import type { ConnectionStatus } from './LiveSocket';

export interface ConnectionContextValue {
  status: ConnectionStatus;
  /** Follows these posts until the returned function is called. */
  follow: (postIds: readonly number[]) => () => void;
  /** Runs the handler after every reconnect until the returned function is called. */
  onReconnect: (handler: () => void) => () => void;
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

/** Runs `handler` whenever the socket comes back after a drop. */
export function useOnReconnect(handler: () => void): void {
  const { onReconnect } = useConnection();
  useEffect(() => onReconnect(handler), [onReconnect, handler]);
}
