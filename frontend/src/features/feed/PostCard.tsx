import { memo, useEffect, useRef } from 'react';
import { Link } from 'react-router-dom';
import { Avatar } from '../../components/Avatar';
import { formatAbsolute, formatRelative, pluralize } from '../../lib/time';
import type { Like, PostRecord } from '../../state/types';
import { DeleteButton } from '../delete/DeleteButton';
import { LikeButton } from '../likes/LikeButton';
import { ViewersBadge } from './ViewersBadge';

const PREVIEW_LIMIT = 600;

interface PostCardProps {
  post: PostRecord;
  like: Like;
  /** Sockets following the post now, when known. */
  viewers?: number;
  now: number;
  /** Show the whole text (post page) instead of a preview (feed). */
  full?: boolean;
  register?: (element: HTMLElement, postId: number) => () => void;
}

export const PostCard = memo(function PostCard({ post, like, viewers, now, full = false, register }: PostCardProps) {
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    if (register && ref.current) return register(ref.current, post.id);
    return undefined;
  }, [register, post.id]);

  const truncated = !full && post.content.length > PREVIEW_LIMIT;
  const text = truncated ? `${post.content.slice(0, PREVIEW_LIMIT).trimEnd()}…` : post.content;
  const postUrl = `/posts/${post.id}`;

  if (post.deleted || !post.author) {
    return (
      <article
        ref={ref}
        data-testid="post-card"
        data-post-id={post.id}
        data-deleted="true"
        className="rounded-2xl border border-dashed border-stone-300 bg-stone-50 p-4 text-sm text-stone-500 sm:p-5"
      >
        This post was deleted. Its conversation stays below.
      </article>
    );
  }
  const author = post.author;

  return (
    <article
      ref={ref}
      data-testid="post-card"
      data-post-id={post.id}
      aria-labelledby={`post-${post.id}-author`}
      className="rounded-2xl border border-stone-200 bg-white p-4 shadow-sm sm:p-5"
    >
      <header className="flex items-center gap-3">
        <Avatar username={author.username} />
        <div className="min-w-0 leading-tight">
          <Link
            id={`post-${post.id}-author`}
            to={`/users/${encodeURIComponent(author.username)}`}
            className="block truncate text-sm font-semibold text-stone-900 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500"
          >
            {author.username}
          </Link>
          <Link
            to={postUrl}
            className="text-xs text-stone-500 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500"
          >
            <time dateTime={post.created_at} title={formatAbsolute(post.created_at)}>
              {formatRelative(post.created_at, now)}
            </time>
          </Link>
        </div>
      </header>

      <p
        className={`mt-3 whitespace-pre-wrap break-words text-stone-800 ${full ? 'text-[17px] leading-relaxed' : 'text-[15px] leading-relaxed'}`}
      >
        {text}
      </p>
      {truncated && (
        <Link to={postUrl} className="mt-1 inline-block text-sm font-medium text-indigo-600 hover:underline">
          Read more
        </Link>
      )}

      <footer className="mt-3 flex items-center gap-1 -ml-2">
        <LikeButton target="post" id={post.id} like={like} />
        <Link
          to={postUrl}
          aria-label={`${pluralize(post.comment_count, 'comment')}, open the thread`}
          data-testid={`comment-count-${post.id}`}
          className="inline-flex items-center gap-1.5 rounded-full px-3 py-1 text-sm font-medium text-stone-500 hover:bg-stone-100 hover:text-stone-800 focus-visible:outline-2 focus-visible:outline-indigo-500"
        >
          <svg aria-hidden="true" viewBox="0 0 24 24" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth={2}>
            <path strokeLinejoin="round" d="M4 5.5h16v10H9l-5 4v-14Z" />
          </svg>
          <span className="tabular-nums">{post.comment_count}</span>
        </Link>
        {viewers !== undefined && <ViewersBadge postId={post.id} count={viewers} />}
        <span className="ml-auto">
          <DeleteButton item={{ kind: 'post', id: post.id }} author={author} />
        </span>
      </footer>
    </article>
  );
});
