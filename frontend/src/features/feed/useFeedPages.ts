import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../../api/client';
import { describeError } from '../../api/errors';
import { useConnection, useOnResync } from '../../realtime/connection';
import { FEED_STREAM } from '../../realtime/streams';
import { useLiveDispatch, useLiveState } from '../../state/store';
import { useAuth } from '../auth/AuthContext';

type LoadState = { kind: 'idle' } | { kind: 'loading' } | { kind: 'error'; message: string };

/**
 * Loads the feed: the first page on arrival and when the user changes, further
 * pages on demand, and the first page again when the feed stream could not be
 * resumed. The first page's `stream_seq` is where the socket goes on from.
 */
export function useFeedPages() {
  const { feed } = useLiveState();
  const dispatch = useLiveDispatch();
  const { user } = useAuth();
  const { setStreamPosition } = useConnection();
  const [firstPage, setFirstPage] = useState<LoadState>({ kind: 'idle' });
  const [nextPage, setNextPage] = useState<LoadState>({ kind: 'idle' });

  const readFirstPage = useCallback(
    async (mode: 'replace' | 'refresh') => {
      const page = await api.feedPage(null);
      dispatch({ type: 'feed.loaded', posts: page.results, next: page.next, mode });
      if (page.stream_seq !== undefined) setStreamPosition(FEED_STREAM, page.stream_seq);
    },
    [dispatch, setStreamPosition],
  );

  const loadFirstPage = useCallback(async () => {
    setFirstPage({ kind: 'loading' });
    try {
      await readFirstPage('replace');
      setFirstPage({ kind: 'idle' });
    } catch (error) {
      setFirstPage({ kind: 'error', message: describeError(error) });
    }
  }, [readFirstPage]);

  // Read the first page when the feed was never loaded, and again when the user
  // changes, because "liked by me" belongs to the session.
  const userKey = user === undefined ? undefined : (user?.id ?? 'anonymous');
  const loadedFor = useRef<typeof userKey | null>(null);
  useEffect(() => {
    if (userKey === undefined || loadedFor.current === userKey) return;
    const firstLoad = loadedFor.current === null;
    loadedFor.current = userKey;
    if (firstLoad && feed.loaded) return;
    void loadFirstPage();
  }, [userKey, feed.loaded, loadFirstPage]);

  const loadMore = useCallback(async () => {
    if (!feed.next || nextPage.kind === 'loading') return;
    setNextPage({ kind: 'loading' });
    try {
      const page = await api.feedPage(feed.next);
      dispatch({ type: 'feed.loaded', posts: page.results, next: page.next, mode: 'append' });
      setNextPage({ kind: 'idle' });
    } catch (error) {
      setNextPage({ kind: 'error', message: describeError(error) });
    }
  }, [dispatch, feed.next, nextPage.kind]);

  // When the feed stream could not be resumed, read the top again: missed posts
  // join the pill, and the `subscribed` snapshot brings the counts of posts on screen.
  const catchUp = useCallback(() => void readFirstPage('refresh').catch(() => undefined), [readFirstPage]);
  useOnResync(FEED_STREAM, catchUp);

  return { firstPage, nextPage, loadFirstPage, loadMore };
}
