import { useCallback, useEffect, useMemo, useState } from 'react';
import { api } from '../../api/client';
import { ApiError, describeError } from '../../api/errors';
import { useConnection, useFollowPosts, useOnResync } from '../../realtime/connection';
import { postStream } from '../../realtime/streams';
import { useLiveDispatch } from '../../state/store';
import { useAuth } from '../auth/AuthContext';

export type ThreadLoad = { kind: 'loading' } | { kind: 'ready' } | { kind: 'error'; message: string; notFound: boolean };

/**
 * Loads a thread and keeps it live: read on arrival and when the user changes
 * ("liked by me" is per session), followed while open, and read again only when
 * its stream could not be resumed. The answer's `stream_seq` is where the socket
 * goes on from, so nothing between the read and the subscription is lost.
 */
export function useThread(postId: number): { load: ThreadLoad; reload: () => void } {
  const dispatch = useLiveDispatch();
  const { user } = useAuth();
  const { setStreamPosition } = useConnection();
  const [load, setLoad] = useState<ThreadLoad>({ kind: 'loading' });

  const fetchThread = useCallback(
    async (signal?: AbortSignal) => {
      try {
        const thread = await api.thread(postId, signal);
        dispatch({ type: 'thread.loaded', post: thread });
        if (thread.stream_seq !== undefined) setStreamPosition(postStream(postId), thread.stream_seq);
        setLoad({ kind: 'ready' });
      } catch (error) {
        if (signal?.aborted) return;
        const notFound = error instanceof ApiError && error.status === 404;
        setLoad((current) =>
          // A failed refresh keeps the thread on screen; only a first load shows the error.
          current.kind === 'ready' && !notFound ? current : { kind: 'error', message: describeError(error), notFound },
        );
      }
    },
    [postId, dispatch, setStreamPosition],
  );

  const userKey = user === undefined ? undefined : (user?.id ?? 'anonymous');
  useEffect(() => {
    if (userKey === undefined) return;
    const controller = new AbortController();
    void fetchThread(controller.signal);
    return () => controller.abort();
  }, [fetchThread, userKey]);

  const reload = useCallback(() => void fetchThread(), [fetchThread]);
  useOnResync(postStream(postId), reload);
  useFollowPosts(useMemo(() => [postId], [postId]));

  return { load, reload };
}
