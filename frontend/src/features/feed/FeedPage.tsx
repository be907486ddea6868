import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../../api/client';
import { describeError } from '../../api/errors';
import { CardSkeleton, EmptyState, ErrorState, Spinner } from '../../components/StatusViews';
import { useNow } from '../../lib/time';
import { useConnection, useFollowPosts, useOnResync } from '../../realtime/connection';
import { FEED_STREAM } from '../../realtime/streams';
import { feedPosts } from '../../state/selectors';
import { useLiveDispatch, useLiveState } from '../../state/store';
import { useAuth } from '../auth/AuthContext';
import { Composer } from './Composer';
import { NewPostsPill } from './NewPostsPill';
import { PostCard } from './PostCard';
import { useVisiblePosts } from './useVisiblePosts';

type LoadState = { kind: 'idle' } | { kind: 'loading' } | { kind: 'error'; message: string };

export function FeedPage() {
  const state = useLiveState();
  const dispatch = useLiveDispatch();
  const { user } = useAuth();
  const now = useNow();
  const [firstPage, setFirstPage] = useState<LoadState>({ kind: 'idle' });
  const [nextPage, setNextPage] = useState<LoadState>({ kind: 'idle' });
  const { register, visibleIds } = useVisiblePosts();
  const sentinel = useRef<HTMLDivElement>(null);
  const { feed } = state;
  const { setStreamPosition } = useConnection();

  const loadFirstPage = useCallback(async () => {
    setFirstPage({ kind: 'loading' });
    try {
      const page = await api.feedPage(null);
      dispatch({ type: 'feed.loaded', posts: page.results, next: page.next, mode: 'replace' });
      if (page.stream_seq !== undefined) setStreamPosition(FEED_STREAM, page.stream_seq);
      setFirstPage({ kind: 'idle' });
    } catch (error) {
      setFirstPage({ kind: 'error', message: describeError(error) });
    }
  }, [dispatch, setStreamPosition]);

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

  // Infinite scroll: load the next page when the end of the list comes near.
  useEffect(() => {
    const target = sentinel.current;
    if (!target || typeof IntersectionObserver === 'undefined' || nextPage.kind !== 'idle') return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) void loadMore();
      },
      { rootMargin: '800px 0px' },
    );
    observer.observe(target);
    return () => observer.disconnect();
  }, [loadMore, nextPage.kind]);

  // When the feed stream could not be resumed, read the top again: missed posts
  // join the pill, and the `subscribed` snapshot brings the counts of posts on screen.
  const catchUp = useCallback(() => {
    api
      .feedPage(null)
      .then((page) => {
        dispatch({ type: 'feed.loaded', posts: page.results, next: page.next, mode: 'refresh' });
        if (page.stream_seq !== undefined) setStreamPosition(FEED_STREAM, page.stream_seq);
      })
      .catch(() => undefined);
  }, [dispatch, setStreamPosition]);
  useOnResync(FEED_STREAM, catchUp);

  useFollowPosts(visibleIds);

  const posts = feedPosts(state);
  const showSkeleton = !feed.loaded && firstPage.kind !== 'error';

  return (
    <div className="space-y-4">
      <h1 className="sr-only">Feed</h1>
      <Composer />
      <NewPostsPill
        count={feed.newIds.length}
        onReveal={() => {
          dispatch({ type: 'feed.revealNew' });
          window.scrollTo({ top: 0, behavior: 'smooth' });
        }}
      />
      {firstPage.kind === 'error' && !feed.loaded && (
        <ErrorState message={`The feed could not be loaded. ${firstPage.message}`} onRetry={() => void loadFirstPage()} />
      )}
      {showSkeleton && <CardSkeleton count={4} />}
      {feed.loaded && posts.length === 0 && (
        <EmptyState title="Nothing here yet" icon="☼">
          Be the first to post. New posts from everyone appear here live.
        </EmptyState>
      )}
      <div className="space-y-3" data-testid="feed-list">
        {posts.map((post) => (
          <PostCard
            key={post.id}
            post={post}
            now={now}
            likePending={post.id in state.pendingPostLikes}
            register={register}
          />
        ))}
      </div>
      {feed.loaded && (
        <div ref={sentinel} className="flex justify-center py-6">
          {nextPage.kind === 'loading' ? (
            <Spinner label="Loading more posts" />
          ) : nextPage.kind === 'error' ? (
            <ErrorState message={`More posts could not be loaded. ${nextPage.message}`} onRetry={() => void loadMore()} />
          ) : feed.next ? (
            <button
              type="button"
              onClick={() => void loadMore()}
              className="rounded-lg px-4 py-2 text-sm font-medium text-stone-600 ring-1 ring-stone-200 hover:bg-white focus-visible:outline-2 focus-visible:outline-indigo-500"
            >
              Load more posts
            </button>
          ) : (
            posts.length > 0 && <p className="text-sm text-stone-400">You are all caught up.</p>
          )}
        </div>
      )}
    </div>
  );
}
