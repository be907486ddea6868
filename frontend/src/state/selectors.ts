import { likeKey } from './likes';
import type { Like, LikeTarget, LiveState, PostRecord } from './types';

const NO_LIKES: Like = { count: 0, liked: false, version: null };

export function feedPosts(state: LiveState): PostRecord[] {
  const posts: PostRecord[] = [];
  for (const id of state.feed.ids) {
    const post = state.posts[id];
    if (post) posts.push(post);
  }
  return posts;
}

/** The like state of a post or comment; the same object until it changes, so rows can be memoised. */
export function likeOf(state: LiveState, target: LikeTarget, id: number): Like {
  return state.likes[likeKey(target, id)] ?? NO_LIKES;
}
