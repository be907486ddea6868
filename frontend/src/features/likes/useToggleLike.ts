import { useCallback } from 'react';
import { api } from '../../api/client';
import { describeError } from '../../api/errors';
import { useToast } from '../../components/toastContext';
import { useLiveDispatch } from '../../state/store';
import type { LikeTarget } from '../../state/types';
import { useAuth } from '../auth/AuthContext';

/** Likes or unlikes at once on screen, then settles on the server's answer or rolls back. */
export function useToggleLike() {
  const dispatch = useLiveDispatch();
  const { requireUser } = useAuth();
  const { showError } = useToast();

  return useCallback(
    async (target: LikeTarget, id: number, liked: boolean) => {
      if (!requireUser(`Log in to like this ${target}.`)) return;
      dispatch({ type: 'like.requested', target, id, liked });
      try {
        const result = target === 'post' ? await api.setPostLike(id, liked) : await api.setCommentLike(id, liked);
        dispatch({ type: 'like.settled', target, id, result });
      } catch (error) {
        dispatch({ type: 'like.failed', target, id });
        showError(`Could not ${liked ? 'like' : 'unlike'} that ${target}: ${describeError(error)}`);
      }
    },
    [dispatch, requireUser, showError],
  );
}
