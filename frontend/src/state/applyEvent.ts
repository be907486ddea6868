import type { User } from '../api/types';
import { commentsReducer, initialComments } from './comments';
import { feedReducer, initialFeed } from './feed';
import { likesReducer } from './likes';
import { postsReducer } from './posts';
import type { AppEvent, LeaderboardState, LiveState, SingleAppEvent } from './types';

export const initialLiveState: LiveState = {
  me: null,
  posts: {},
  comments: initialComments,
  likes: {},
  feed: initialFeed,
  leaderboard: { board: null, fromSocket: false },
  viewers: {},
};

function sameUser(a: User | null, b: User | null): boolean {
  return a?.id === b?.id && a?.username === b?.username;
}

function meReducer(me: User | null, event: SingleAppEvent): User | null {
  if (event.type !== 'hello' && event.type !== 'session.changed') return me;
  return sameUser(me, event.user) ? me : event.user;
}

function leaderboardReducer(state: LeaderboardState, event: SingleAppEvent): LeaderboardState {
  if (event.type === 'leaderboard') {
    return { board: { window_hours: event.window_hours, entries: event.entries }, fromSocket: true };
  }
  if (event.type === 'leaderboard.loaded' && !state.fromSocket) return { ...state, board: event.leaderboard };
  return state;
}

/** Presence is not history: the newest count is the count. */
function viewersReducer(viewers: Record<number, number>, event: SingleAppEvent): Record<number, number> {
  if (event.type === 'post.viewers') {
    return viewers[event.post_id] === event.count ? viewers : { ...viewers, [event.post_id]: event.count };
  }
  if (event.type === 'subscribed') {
    let next = viewers;
    for (const snapshot of event.posts) {
      if (snapshot.viewers === undefined || next[snapshot.id] === snapshot.viewers) continue;
      if (next === viewers) next = { ...viewers };
      next[snapshot.id] = snapshot.viewers;
    }
    return next;
  }
  return viewers;
}

function applySingle(state: LiveState, event: SingleAppEvent): LiveState {
  const me = meReducer(state.me, event);
  const comments = commentsReducer(state.comments, event);
  const posts = postsReducer(state.posts, event, state.comments, comments);
  const next: LiveState = {
    me,
    posts,
    comments,
    likes: likesReducer(state.likes, event),
    feed: feedReducer(state.feed, event, { me, posts, known: (postId) => state.posts[postId] !== undefined }),
    leaderboard: leaderboardReducer(state.leaderboard, event),
    viewers: viewersReducer(state.viewers, event),
  };
  const unchanged = (Object.keys(next) as (keyof LiveState)[]).every((key) => next[key] === state[key]);
  return unchanged ? state : next;
}

/**
 * The single place where live state changes: each domain's reducer gets the
 * event and returns its own part. Pure: the same state and event always give
 * the same result, and nothing outside is touched.
 */
export function applyEvent(state: LiveState, event: AppEvent): LiveState {
  if (event.type === 'batch') return event.events.reduce<LiveState>(applyEvent, state);
  return applySingle(state, event);
}
