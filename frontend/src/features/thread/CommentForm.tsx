import { api } from '../../api/client';
import { MAX_COMMENT_LENGTH } from '../../generated/limits';
import { useLiveDispatch } from '../../state/store';
import { useContentSubmit } from '../compose/useContentSubmit';

interface CommentFormProps {
  postId: number;
  parentId: number | null;
  /** Who is being answered, for the label and placeholder. */
  replyingTo?: string;
  autoFocus?: boolean;
  onDone?: () => void;
  onCancel?: () => void;
}

export function CommentForm({ postId, parentId, replyingTo, autoFocus = false, onDone, onCancel }: CommentFormProps) {
  const dispatch = useLiveDispatch();
  const form = useContentSubmit({
    maxLength: MAX_COMMENT_LENGTH,
    loginMessage: 'Log in to join the conversation.',
    send: (content, key) => api.createComment(postId, content, parentId, key),
    onSent: (comment) => {
      dispatch({ type: 'comment.published', comment });
      onDone?.();
    },
    onCancel,
  });
  const { user, content, length, tooLong, error } = form;
  const label = replyingTo ? `Reply to ${replyingTo}` : 'Write a comment';

  return (
    <form onSubmit={form.handleSubmit} aria-label={label} className="mt-2">
      <label className="block">
        <span className="sr-only">{label}</span>
        <textarea
          name="comment"
          value={content}
          autoFocus={autoFocus}
          onChange={(event) => form.setContent(event.target.value)}
          onFocus={form.handleFocus}
          onKeyDown={form.handleKeyDown}
          rows={2}
          placeholder={user ? (replyingTo ? `Reply to ${replyingTo}…` : 'Add to the conversation…') : 'Log in to comment'}
          className="block w-full resize-y rounded-xl border border-stone-200 bg-white px-3 py-2 text-sm leading-relaxed text-stone-900 shadow-sm placeholder:text-stone-400 focus:border-indigo-400 focus:outline-none focus:ring-4 focus:ring-indigo-50"
        />
      </label>
      {error && (
        <p role="alert" className="mt-2 rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-800">
          {error}
        </p>
      )}
      <div className="mt-2 flex items-center justify-end gap-2">
        {tooLong && (
          <span className="text-xs tabular-nums text-rose-600">
            {length.toLocaleString()} / {MAX_COMMENT_LENGTH.toLocaleString()}
          </span>
        )}
        {onCancel && (
          <button
            type="button"
            onClick={onCancel}
            className="rounded-lg px-3 py-1.5 text-sm text-stone-600 hover:bg-stone-100 focus-visible:outline-2 focus-visible:outline-indigo-500"
          >
            Cancel
          </button>
        )}
        <button
          type="submit"
          disabled={form.submitDisabled}
          className="rounded-lg bg-indigo-600 px-3.5 py-1.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:cursor-not-allowed disabled:opacity-40"
        >
          {form.submitting ? 'Sending…' : replyingTo ? 'Reply' : 'Comment'}
        </button>
      </div>
    </form>
  );
}
