import { useCallback, useEffect, useMemo, useReducer, useRef, useState, type ReactNode } from 'react';
import type { User } from '../api/types';
import { MAX_FOLLOWED_POSTS } from '../generated/limits';
import { ConnectionContext, type ConnectionContextValue } from '../realtime/connection';
import type { LiveSocketOptions } from '../realtime/LiveSocket';
import { useLiveFeed } from '../realtime/useLiveFeed';
import { applyEvent, initialLiveState } from '../state/applyEvent';
import { FreshCommentsContext, LiveDispatchContext, LiveStateContext } from '../state/store';
import type { AppEvent } from '../state/types';
import { arrivingCommentIds, withoutIds } from './freshComments';

/** How long a comment that arrived while the page was open stays marked as new. */
const HIGHLIGHT_MS = 4_000;

interface LiveProviderProps {
  /** `undefined` while the session is being checked. */
  user: User | null | undefined;
  children: ReactNode;
  socketOptions?: Partial<LiveSocketOptions>;
}

/**
 * Holds the live state (the domain reducers combined in `applyEvent`) and the
 * one socket that feeds it. Screens declare which posts they show; the union,
 * at most 100, is what the socket follows.
 */
export function LiveProvider({ user, children, socketOptions }: LiveProviderProps) {
  const [state, dispatchDomain] = useReducer(applyEvent, initialLiveState);
  const [fresh, setFresh] = useState<ReadonlySet<number>>(new Set());
  const [followCounts, setFollowCounts] = useState<ReadonlyMap<number, number>>(new Map());
  const resyncHandlers = useRef(new Set<(streams: readonly string[]) => void>());

  const dispatch = useCallback((event: AppEvent) => {
    dispatchDomain(event);
    const arriving = arrivingCommentIds(event);
    if (arriving.length > 0) setFresh((current) => new Set([...current, ...arriving]));
  }, []);

  useEffect(() => {
    if (user !== undefined) dispatchDomain({ type: 'session.changed', user });
  }, [user]);

  const freshKey = [...fresh].join(',');
  useEffect(() => {
    if (freshKey === '') return;
    const timer = setTimeout(() => setFresh((current) => withoutIds(current, freshKey.split(',').map(Number))), HIGHLIGHT_MS);
    return () => clearTimeout(timer);
  }, [freshKey]);

  const follow = useCallback((postIds: readonly number[]) => {
    if (postIds.length === 0) return () => undefined;
    const change = (delta: number) =>
      setFollowCounts((current) => {
        const next = new Map(current);
        for (const id of postIds) {
          const count = (next.get(id) ?? 0) + delta;
          if (count > 0) next.set(id, count);
          else next.delete(id);
        }
        return next;
      });
    change(1);
    return () => change(-1);
  }, []);

  const onResync = useCallback((handler: (streams: readonly string[]) => void) => {
    resyncHandlers.current.add(handler);
    return () => {
      resyncHandlers.current.delete(handler);
    };
  }, []);

  // Sorted newest id first so that, past the limit, the posts nearest the top stay followed.
  const followedPostIds = useMemo(
    () => [...followCounts.keys()].sort((a, b) => b - a).slice(0, MAX_FOLLOWED_POSTS),
    [followCounts],
  );

  const { status, setStreamPosition } = useLiveFeed({
    onEvent: dispatch,
    onResync: (streams) => {
      for (const handler of resyncHandlers.current) handler(streams);
    },
    followedPostIds,
    sessionKey: user === undefined ? null : user ? String(user.id) : 'anonymous',
    socketOptions,
  });

  const connection = useMemo<ConnectionContextValue>(
    () => ({ status, follow, setStreamPosition, onResync }),
    [status, follow, setStreamPosition, onResync],
  );

  return (
    <ConnectionContext.Provider value={connection}>
      <LiveDispatchContext.Provider value={dispatch}>
        <LiveStateContext.Provider value={state}>
          <FreshCommentsContext.Provider value={fresh}>{children}</FreshCommentsContext.Provider>
        </LiveStateContext.Provider>
      </LiveDispatchContext.Provider>
    </ConnectionContext.Provider>
  );
}
