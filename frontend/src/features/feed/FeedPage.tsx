import { useEffect, useRef } from 'react';
import { CardSkeleton, EmptyState, ErrorState, Spinner } from '../../components/StatusViews';
import { useNow } from '../../lib/time';
import { useFollowPosts } from '../../realtime/connection';
import { feedPosts, likeOf } from '../../state/selectors';
import { useLiveDispatch, useLiveState } from '../../state/store';
import { Composer } from './Composer';
import { NewPostsPill } from './NewPostsPill';
import { PostCard } from './PostCard';
import { useFeedPages } from './useFeedPages';
import { useVisiblePosts } from './useVisiblePosts';

export function FeedPage() {
  const state = useLiveState();
  const dispatch = useLiveDispatch();
  const now = useNow();
  const { firstPage, nextPage, loadFirstPage, loadMore } = useFeedPages();
  const { register, visibleIds } = useVisiblePosts();
  const sentinel = useRef<HTMLDivElement>(null);
  const { feed } = state;

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
            like={likeOf(state, 'post', post.id)}
            viewers={state.viewers[post.id]}
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
