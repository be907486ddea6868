import type { User } from '../api/types';
import type { FeedState, PostRecord, SingleAppEvent } from './types';

/*
 * Which posts the feed shows, newest first, and which wait behind the "new
 * posts" pill. Posts by others that arrive live wait there so the page does not
 * jump under the reader; the author's own post shows at once. A deleted post
 * leaves the feed.
 */

export const initialFeed: FeedState = { ids: [], newIds: [], next: null, loaded: false };

function byNewest(posts: Record<number, PostRecord>) {
  return (a: number, b: number): number => {
    const left = posts[a]?.created_at ?? '';
    const right = posts[b]?.created_at ?? '';
    if (left !== right) return left < right ? 1 : -1;
    return b - a;
  };
}

function pageLoaded(
  feed: FeedState,
  pageIds: number[],
  next: string | null,
  mode: 'replace' | 'append' | 'refresh',
  posts: Record<number, PostRecord>,
): FeedState {
  if (mode === 'replace') {
    const shown = new Set(pageIds);
    return { ids: pageIds, newIds: feed.newIds.filter((id) => !shown.has(id)), next, loaded: true };
  }
  const known = new Set([...feed.ids, ...feed.newIds]);
  if (mode === 'append') {
    const added = pageIds.filter((id) => !known.has(id));
    return { ...feed, ids: [...feed.ids, ...added], next, loaded: true };
  }
  // 'refresh': the first page read again after the feed stream could not be
  // resumed. Posts that are not on screen yet join the pill instead of pushing
  // the page down.
  const order = byNewest(posts);
  const newest = feed.ids[0];
  const missed = pageIds.filter((id) => !known.has(id) && (newest === undefined || order(id, newest) < 0));
  // Within the page's span, a post the page no longer has was deleted meanwhile.
  const [newestOnPage, oldestOnPage] = [pageIds[0], pageIds[pageIds.length - 1]];
  const onPage = new Set(pageIds);
  const gone = (id: number) =>
    newestOnPage !== undefined &&
    oldestOnPage !== undefined &&
    !onPage.has(id) &&
    order(id, oldestOnPage) < 0 &&
    order(newestOnPage, id) < 0;
  return {
    ...feed,
    ids: feed.ids.filter((id) => !gone(id)),
    newIds: [...missed, ...feed.newIds.filter((id) => !gone(id))].sort(order),
  };
}

function reveal(feed: FeedState, posts: Record<number, PostRecord>): FeedState {
  if (feed.newIds.length === 0) return feed;
  const shown = new Set(feed.ids);
  const revealed = feed.newIds.filter((id) => !shown.has(id));
  return { ...feed, ids: [...revealed, ...feed.ids].sort(byNewest(posts)), newIds: [] };
}

function removed(feed: FeedState, postId: number): FeedState {
  if (!feed.ids.includes(postId) && !feed.newIds.includes(postId)) return feed;
  return { ...feed, ids: feed.ids.filter((id) => id !== postId), newIds: feed.newIds.filter((id) => id !== postId) };
}

/** A restored post takes its place again if the loaded part of the feed reaches back to it. */
function restored(feed: FeedState, postId: number, posts: Record<number, PostRecord>): FeedState {
  if (!feed.loaded || feed.ids.includes(postId) || feed.newIds.includes(postId)) return feed;
  const order = byNewest(posts);
  const oldest = feed.ids[feed.ids.length - 1];
  if (oldest !== undefined && feed.next !== null && order(postId, oldest) > 0) return feed;
  return { ...feed, ids: [...feed.ids, postId].sort(order) };
}

/** `posts` is the posts state after this event; `known` says whether the post was stored before it. */
export function feedReducer(
  feed: FeedState,
  event: SingleAppEvent,
  context: { me: User | null; posts: Record<number, PostRecord>; known: (postId: number) => boolean },
): FeedState {
  switch (event.type) {
    case 'feed.loaded':
      return pageLoaded(
        feed,
        event.posts.filter((post) => !context.posts[post.id]?.deleted).map((post) => post.id),
        event.next,
        event.mode,
        context.posts,
      );
    case 'feed.revealNew':
      return reveal(feed, context.posts);
    case 'post.created': {
      if (context.known(event.post.id)) return feed;
      const own = context.me !== null && event.post.author?.id === context.me.id;
      return own ? { ...feed, ids: [event.post.id, ...feed.ids] } : { ...feed, newIds: [event.post.id, ...feed.newIds] };
    }
    case 'post.published': {
      const newIds = feed.newIds.filter((id) => id !== event.post.id);
      const ids = feed.ids.includes(event.post.id) ? feed.ids : [event.post.id, ...feed.ids];
      return { ...feed, ids, newIds };
    }
    case 'post.deleted':
      return removed(feed, event.post_id);
    case 'post.restored':
      return restored(feed, event.post.id, context.posts);
    default:
      return feed;
  }
}
