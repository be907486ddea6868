import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { api } from '../../api/client';
import { describeError } from '../../api/errors';
import { useLiveDispatch } from '../../state/store';
import { useAuth } from '../auth/AuthContext';

const MAX_COMMENT_LENGTH = 5_000;

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
  const { user, requireUser } = useAuth();
  const dispatch = useLiveDispatch();
  const [content, setContent] = useState('');
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const tooLong = content.length > MAX_COMMENT_LENGTH;
  const canSubmit = content.trim() !== '' && !tooLong && !submitting;
  const label = replyingTo ? `Reply to ${replyingTo}` : 'Write a comment';

  async function submit() {
    if (!requireUser('Log in to join the conversation.') || !canSubmit) return;
    setSubmitting(true);
    setError(null);
    try {
      const comment = await api.createComment(postId, content, parentId);
      dispatch({ type: 'comment.published', comment });
      setContent('');
      onDone?.();
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setSubmitting(false);
    }
  }

  function handleSubmit(event: FormEvent) {
    event.preventDefault();
    void submit();
  }

  function handleKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && (event.metaKey || event.ctrlKey)) {
      event.preventDefault();
      void submit();
    } else if (event.key === 'Escape' && onCancel) {
      onCancel();
    }
  }

  return (
    <form onSubmit={handleSubmit} aria-label={label} className="mt-2">
      <label className="block">
        <span className="sr-only">{label}</span>
        <textarea
          name="comment"
          value={content}
          autoFocus={autoFocus}
          onChange={(event) => setContent(event.target.value)}
          onFocus={() => {
            if (user === null) requireUser('Log in to join the conversation.');
          }}
          onKeyDown={handleKeyDown}
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
            {content.length.toLocaleString()} / {MAX_COMMENT_LENGTH.toLocaleString()}
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
          disabled={user !== null && user !== undefined && !canSubmit}
          className="rounded-lg bg-indigo-600 px-3.5 py-1.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:cursor-not-allowed disabled:opacity-40"
        >
          {submitting ? 'Sending…' : replyingTo ? 'Reply' : 'Comment'}
        </button>
      </div>
    </form>
  );
}
