import { memo } from 'react';
import { Link } from 'react-router-dom';
import { Avatar } from '../../components/Avatar';
import { formatAbsolute, formatRelative, pluralize } from '../../lib/time';
import type { CommentRecord, Like } from '../../state/types';
import { DeleteButton } from '../delete/DeleteButton';
import { LikeButton } from '../likes/LikeButton';
import { CommentForm } from './CommentForm';

/** Vertical guide lines, one per level, so the eye can follow a branch. */
function DepthGuides({ depth }: { depth: number }) {
  return (
    <>
      {Array.from({ length: depth }, (_, level) => (
        <span key={level} aria-hidden="true" className="w-3 shrink-0 border-l-2 border-stone-200 sm:w-5" />
      ))}
    </>
  );
}

interface CommentRowProps {
  comment: CommentRecord;
  like: Like;
  depth: number;
  replyCount: number;
  collapsed: boolean;
  hiddenCount: number;
  fresh: boolean;
  replying: boolean;
  now: number;
  onToggleCollapsed: (commentId: number) => void;
  onReply: (commentId: number | null) => void;
}

/** Memoised: a like on one comment must not re-render a thread of thousands. */
export const CommentRow = memo(function CommentRow({
  comment,
  like,
  depth,
  replyCount,
  collapsed,
  hiddenCount,
  fresh,
  replying,
  now,
  onToggleCollapsed,
  onReply,
}: CommentRowProps) {
  const author = comment.author?.username ?? 'a deleted comment';
  return (
    <li
      data-testid="comment"
      data-comment-id={comment.id}
      data-parent-id={comment.parent_id ?? ''}
      data-depth={depth}
      data-deleted={comment.deleted || undefined}
      className="flex"
    >
      <DepthGuides depth={depth} />
      <div className={`min-w-0 flex-1 rounded-xl px-2 py-2 sm:px-3 ${fresh ? 'comment-fresh' : ''}`}>
        <div className="flex items-center gap-2 text-xs">
          {comment.author ? (
            <>
              <Avatar username={author} size="sm" />
              <Link
                to={`/users/${encodeURIComponent(author)}`}
                className="truncate font-semibold text-stone-900 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500"
              >
                {author}
              </Link>
            </>
          ) : (
            <span className="font-semibold text-stone-400">[deleted]</span>
          )}
          <span aria-hidden="true" className="text-stone-300">
            ·
          </span>
          <time dateTime={comment.created_at} title={formatAbsolute(comment.created_at)} className="shrink-0 text-stone-500">
            {formatRelative(comment.created_at, now)}
          </time>
          {fresh && <span className="rounded-full bg-amber-100 px-1.5 text-[10px] font-semibold text-amber-800">new</span>}
        </div>

        {collapsed ? (
          <button
            type="button"
            onClick={() => onToggleCollapsed(comment.id)}
            aria-expanded={false}
            aria-label={`Expand the comment by ${author} and ${pluralize(hiddenCount, 'reply', 'replies')}`}
            className="mt-1 rounded-md px-1 text-left text-xs font-medium text-indigo-600 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500"
          >
            Show comment{hiddenCount > 0 ? ` and ${pluralize(hiddenCount, 'reply', 'replies')}` : ''}
          </button>
        ) : (
          <>
            {comment.deleted ? (
              <p className="mt-1 text-sm italic text-stone-400 sm:pl-9">This comment was deleted.</p>
            ) : (
              <p className="mt-1 whitespace-pre-wrap break-words text-sm sm:pl-9 leading-relaxed text-stone-800">
                {comment.content}
              </p>
            )}
            <div className="-ml-2 mt-1 flex flex-wrap items-center gap-1 sm:ml-0 sm:pl-7">
              {!comment.deleted && <LikeButton target="comment" id={comment.id} like={like} size="sm" />}
              {!comment.deleted && (
              <button
                type="button"
                onClick={() => onReply(replying ? null : comment.id)}
                aria-expanded={replying}
                aria-label={`Reply to ${author}`}
                className="rounded-full px-2 py-0.5 text-xs font-medium text-stone-500 hover:bg-stone-100 hover:text-stone-800 focus-visible:outline-2 focus-visible:outline-indigo-500"
              >
                Reply
              </button>
              )}
              {replyCount > 0 && (
                <button
                  type="button"
                  onClick={() => onToggleCollapsed(comment.id)}
                  aria-expanded={true}
                  aria-label={`Collapse the comment by ${author} and its replies`}
                  className="rounded-full px-2 py-0.5 text-xs font-medium text-stone-500 hover:bg-stone-100 hover:text-stone-800 focus-visible:outline-2 focus-visible:outline-indigo-500"
                >
                  Collapse
                </button>
              )}
              {!comment.deleted && (
                <DeleteButton item={{ kind: 'comment', id: comment.id, postId: comment.post_id }} author={comment.author} size="sm" />
              )}
            </div>
            {replying && (
              <div className="sm:pl-9">
                <CommentForm
                  postId={comment.post_id}
                  parentId={comment.id}
                  replyingTo={author}
                  autoFocus
                  onDone={() => onReply(null)}
                  onCancel={() => onReply(null)}
                />
              </div>
            )}
          </>
        )}
      </div>
    </li>
  );
});

export function ContinueThreadRow({ parent, depth, hiddenCount }: { parent: CommentRecord; depth: number; hiddenCount: number }) {
  return (
    <li className="flex" data-testid="continue-thread">
      <DepthGuides depth={depth} />
      <Link
        to={`/posts/${parent.post_id}?comment=${parent.id}`}
        className="my-1 ml-2 inline-flex items-center gap-1 rounded-full bg-indigo-50 px-3 py-1 text-xs font-semibold text-indigo-700 hover:bg-indigo-100 focus-visible:outline-2 focus-visible:outline-indigo-500"
      >
        Continue this thread ({pluralize(hiddenCount, 'more reply', 'more replies')}) →
      </Link>
    </li>
  );
}
