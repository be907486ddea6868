import { useCallback, useMemo, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { BackToFeed } from '../../components/BackToFeed';
import { EmptyState, ErrorState, CardSkeleton } from '../../components/StatusViews';
import { pluralize, useNow } from '../../lib/time';
import { buildThreadRows } from '../../state/commentTree';
import { likeOf } from '../../state/selectors';
import { useFreshCommentIds, useLiveState } from '../../state/store';
import { PostCard } from '../feed/PostCard';
import { CommentForm } from './CommentForm';
import { CommentRow, ContinueThreadRow } from './CommentRow';
import { useThread } from './useThread';

/** Levels shown before "continue this thread" takes over; enough to follow a conversation on a phone. */
const MAX_VISIBLE_DEPTH = 6;

function parseId(value: string | null | undefined): number | null {
  if (!value || !/^\d+$/.test(value)) return null;
  return Number(value);
}

export function ThreadPage() {
  const params = useParams();
  const [searchParams] = useSearchParams();
  const postId = parseId(params.postId);
  const focusId = parseId(searchParams.get('comment'));
  return postId === null ? (
    <ErrorState message="That is not a valid post address." />
  ) : (
    <Thread key={postId} postId={postId} focusId={focusId} />
  );
}

function Thread({ postId, focusId }: { postId: number; focusId: number | null }) {
  const state = useLiveState();
  const fresh = useFreshCommentIds();
  const now = useNow();
  const { load, reload } = useThread(postId);
  const [collapsed, setCollapsed] = useState<ReadonlySet<number>>(new Set());
  const [replyingTo, setReplyingTo] = useState<number | null>(null);

  const toggleCollapsed = useCallback((commentId: number) => {
    setCollapsed((current) => {
      const next = new Set(current);
      if (next.has(commentId)) next.delete(commentId);
      else next.add(commentId);
      return next;
    });
  }, []);

  const rows = useMemo(
    () =>
      buildThreadRows({
        postId,
        focusCommentId: focusId,
        comments: state.comments.byId,
        children: state.comments.children,
        collapsed,
        maxDepth: MAX_VISIBLE_DEPTH,
      }),
    [postId, focusId, state.comments.byId, state.comments.children, collapsed],
  );

  const post = state.posts[postId];
  const threadLoaded = state.comments.loadedThreads[postId] === true;

  if (load.kind === 'error' && !threadLoaded) {
    return load.notFound ? (
      <EmptyState title="This post does not exist" icon="?">
        It may have never existed.{' '}
        <Link to="/" className="font-medium text-indigo-600 hover:underline">
          Back to the feed
        </Link>
      </EmptyState>
    ) : (
      <ErrorState message={`The thread could not be loaded. ${load.message}`} onRetry={reload} />
    );
  }
  if (!post || !threadLoaded) {
    return (
      <div role="status" aria-label="Loading the thread">
        <CardSkeleton count={2} />
      </div>
    );
  }

  const focused = focusId === null ? null : state.comments.byId[focusId];
  const focusParentId = focused?.parent_id ?? null;

  return (
    <div className="space-y-4">
      <BackToFeed />
      <h1 className="sr-only">{post.author ? `Post by ${post.author.username}` : 'A deleted post'}</h1>
      <PostCard post={post} like={likeOf(state, 'post', postId)} viewers={state.viewers[postId]} now={now} full />

      <section
        aria-labelledby="comments-title"
        className="rounded-2xl border border-stone-200 bg-white p-3 shadow-sm sm:p-5"
      >
        <h2 id="comments-title" className="px-1 text-sm font-semibold text-stone-900">
          {pluralize(post.comment_count, 'comment')}
        </h2>

        {focusId !== null ? (
          <div className="mt-3 flex flex-wrap items-center gap-2 rounded-xl bg-indigo-50/60 px-3 py-2 text-sm text-indigo-900">
            <span>
              {focused ? `You are reading a single branch, ${focused.depth} levels deep.` : 'That comment is not in this thread.'}
            </span>
            {focusParentId !== null && (
              <Link
                to={`/posts/${postId}?comment=${focusParentId}`}
                className="font-medium text-indigo-700 underline-offset-2 hover:underline"
              >
                ↑ Parent comment
              </Link>
            )}
            <Link to={`/posts/${postId}`} className="font-medium text-indigo-700 underline-offset-2 hover:underline">
              View the whole thread
            </Link>
          </div>
        ) : post.deleted ? (
          <p className="mt-3 px-1 text-sm text-stone-500">Replies are closed: the post was deleted.</p>
        ) : (
          <div className="mt-3 px-1">
            <CommentForm postId={postId} parentId={null} />
          </div>
        )}

        {rows.length === 0 && focusId === null ? (
          <p className="px-1 py-8 text-center text-sm text-stone-500">No comments yet. Start the conversation.</p>
        ) : (
          <ol className="mt-4" data-testid="comment-list" aria-label="Comments">
            {rows.map((row) =>
              row.kind === 'comment' ? (
                <CommentRow
                  key={row.comment.id}
                  comment={row.comment}
                  depth={row.depth}
                  replyCount={row.replyCount}
                  collapsed={row.collapsed}
                  hiddenCount={row.hiddenCount}
                  like={likeOf(state, 'comment', row.comment.id)}
                  fresh={fresh.has(row.comment.id)}
                  replying={replyingTo === row.comment.id}
                  now={now}
                  onToggleCollapsed={toggleCollapsed}
                  onReply={setReplyingTo}
                />
              ) : (
                <ContinueThreadRow
                  key={`continue-${row.parent.id}`}
                  parent={row.parent}
                  depth={row.depth}
                  hiddenCount={row.hiddenCount}
                />
              ),
            )}
          </ol>
        )}
      </section>
    </div>
  );
}
