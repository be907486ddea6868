import type { Comment, Post } from '../api/types';
import type { LikeTarget, LiveState } from './types';

export function feedPosts(state: LiveState): Post[] {
  const posts: Post[] = [];
  for (const id of state.feed.ids) {
    const post = state.posts[id];
    if (post) posts.push(post);
  }
  return posts;
}

export function isLikePending(state: LiveState, target: LikeTarget, id: number): boolean {
  return target === 'post' ? id in state.pendingPostLikes : id in state.pendingCommentLikes;
}

export function commentById(state: LiveState, id: number): Comment | undefined {
  return state.comments[id];
}
