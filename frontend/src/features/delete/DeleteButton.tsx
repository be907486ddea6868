import { useState } from 'react';
import { api } from '../../api/client';
import { describeError } from '../../api/errors';
import type { User } from '../../api/types';
import { useToast } from '../../components/toastContext';
import { useLiveDispatch } from '../../state/store';
import { useAuth } from '../auth/AuthContext';

type Deletable = { kind: 'post'; id: number } | { kind: 'comment'; id: number; postId: number };

interface DeleteButtonProps {
  item: Deletable;
  author: User | null;
  size?: 'sm' | 'md';
}

/**
 * Delete, for the author only, with a confirmation in place. The server keeps the
 * row as a placeholder; the screen shows the deletion at once, and every other
 * tab hears of it through the stream.
 */
export function DeleteButton({ item, author, size = 'md' }: DeleteButtonProps) {
  const { user } = useAuth();
  const dispatch = useLiveDispatch();
  const { showError } = useToast();
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);

  if (!user || !author || author.id !== user.id) return null;

  async function remove() {
    setDeleting(true);
    try {
      if (item.kind === 'post') {
        await api.deletePost(item.id);
        dispatch({ type: 'post.deleted', post_id: item.id });
      } else {
        await api.deleteComment(item.id);
        dispatch({ type: 'comment.removed', post_id: item.postId, comment_id: item.id });
      }
    } catch (error) {
      showError(`Could not delete that ${item.kind}: ${describeError(error)}`);
      setDeleting(false);
      setConfirming(false);
    }
  }

  const text = size === 'sm' ? 'text-xs px-2 py-0.5' : 'text-sm px-3 py-1';
  if (!confirming) {
    return (
      <button
        type="button"
        onClick={() => setConfirming(true)}
        aria-label={`Delete this ${item.kind}`}
        className={`rounded-full font-medium text-stone-500 hover:bg-stone-100 hover:text-rose-700 focus-visible:outline-2 focus-visible:outline-indigo-500 ${text}`}
      >
        Delete
      </button>
    );
  }
  return (
    <span role="group" aria-label={`Confirm deleting this ${item.kind}`} className="inline-flex items-center gap-1">
      <span className={`text-stone-600 ${size === 'sm' ? 'text-xs' : 'text-sm'}`}>Delete this {item.kind}?</span>
      <button
        type="button"
        disabled={deleting}
        onClick={() => void remove()}
        className={`rounded-full bg-rose-600 font-semibold text-white hover:bg-rose-700 focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-rose-600 disabled:opacity-50 ${text}`}
      >
        {deleting ? 'Deleting…' : 'Yes, delete'}
      </button>
      <button
        type="button"
        disabled={deleting}
        onClick={() => setConfirming(false)}
        className={`rounded-full font-medium text-stone-600 hover:bg-stone-100 focus-visible:outline-2 focus-visible:outline-indigo-500 ${text}`}
      >
        Keep
      </button>
    </span>
  );
}
