import { useCallback, useEffect, useMemo, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { api } from '../../api/client';
import { ApiError, describeError } from '../../api/errors';
import { EmptyState, ErrorState, CardSkeleton } from '../../components/StatusViews';
import { pluralize, useNow } from '../../lib/time';
import { useConnection, useFollowPosts, useOnResync } from '../../realtime/connection';
import { postStream } from '../../realtime/streams';
import { buildThreadRows } from '../../state/commentTree';
import { useLiveDispatch, useLiveState } from '../../state/store';
import { useAuth } from '../auth/AuthContext';
import { PostCard } from '../feed/PostCard';
import { CommentForm } from './CommentForm';
import { CommentRow, ContinueThreadRow } from './CommentRow';

/** Levels shown before "continue this thread" takes over; enough to follow a conversation on a phone. */
export const MAX_VISIBLE_DEPTH = 6;

type LoadState = { kind: 'loading' } | { kind: 'ready' } | { kind: 'error'; message: string; notFound: boolean };

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
  const dispatch = useLiveDispatch();
  const { user } = useAuth();
  const now = useNow();
  const [load, setLoad] = useState<LoadState>({ kind: 'loading' });
  const [collapsed, setCollapsed] = useState<ReadonlySet<number>>(new Set());
  const [replyingTo, setReplyingTo] = useState<number | null>(null);
  const { setStreamPosition } = useConnection();

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

  // Loaded on arrival and again when the user changes ("liked by me" is per session).
  const userKey = user === undefined ? undefined : (user?.id ?? 'anonymous');
  useEffect(() => {
    if (userKey === undefined) return;
    const controller = new AbortController();
    void fetchThread(controller.signal);
    return () => controller.abort();
  }, [fetchThread, userKey]);

  // Missed events come back by resume; only when the post's stream cannot be
  // resumed is the thread read again (the `subscribed` snapshot has counts only).
  const catchUp = useCallback(() => void fetchThread(), [fetchThread]);
  useOnResync(postStream(postId), catchUp);
  useFollowPosts(useMemo(() => [postId], [postId]));

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
        comments: state.comments,
        children: state.children,
        collapsed,
        maxDepth: MAX_VISIBLE_DEPTH,
      }),
    [postId, focusId, state.comments, state.children, collapsed],
  );

  const post = state.posts[postId];
  const threadLoaded = state.loadedThreads[postId] === true;

  if (load.kind === 'error' && !threadLoaded) {
    return load.notFound ? (
      <EmptyState title="This post does not exist" icon="?">
        It may have never existed.{' '}
        <Link to="/" className="font-medium text-indigo-600 hover:underline">
          Back to the feed
        </Link>
      </EmptyState>
    ) : (
      <ErrorState message={`The thread could not be loaded. ${load.message}`} onRetry={() => void fetchThread()} />
    );
  }
  if (!post || !threadLoaded) {
    return (
      <div role="status" aria-label="Loading the thread">
        <CardSkeleton count={2} />
      </div>
    );
  }

  const focused = focusId === null ? null : state.comments[focusId];
  const focusParentId = focused?.parent_id ?? null;

  return (
    <div className="space-y-4">
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link to="/" className="text-stone-500 hover:text-stone-900 hover:underline">
          ← Feed
        </Link>
      </nav>
      <h1 className="sr-only">Post by {post.author.username}</h1>
      <PostCard post={post} now={now} likePending={postId in state.pendingPostLikes} full />

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
                  fresh={row.comment.id in state.freshCommentIds}
                  likePending={row.comment.id in state.pendingCommentLikes}
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
