import { useEffect } from 'react';
import { api } from '../../api/client';
import type { Leaderboard } from '../../api/types';
import { useLiveDispatch, useLiveState } from '../../state/store';

/**
 * The live leaderboard. The socket sends it on connect and on every change; a
 * REST read fills the gap if the socket is slow or down at first paint.
 */
export function useLeaderboard(): Leaderboard | null {
  const leaderboard = useLiveState().leaderboard.board;
  const dispatch = useLiveDispatch();
  const missing = leaderboard === null;

  useEffect(() => {
    if (!missing) return;
    const controller = new AbortController();
    api
      .leaderboard(controller.signal)
      .then((loaded) => dispatch({ type: 'leaderboard.loaded', leaderboard: loaded }))
      .catch(() => {
        // The socket delivers it too; the panel shows its loading state meanwhile.
      });
    return () => controller.abort();
  }, [missing, dispatch]);

  return leaderboard;
}
