import { createContext, useContext, type Dispatch } from 'react';
import type { AppEvent, LiveState } from './types';

export const LiveStateContext = createContext<LiveState | null>(null);
export const LiveDispatchContext = createContext<Dispatch<AppEvent> | null>(null);
/** Comments that arrived while the page was open, highlighted for a moment. */
export const FreshCommentsContext = createContext<ReadonlySet<number>>(new Set());

export function useLiveState(): LiveState {
  const state = useContext(LiveStateContext);
  if (!state) throw new Error('useLiveState must be used inside <LiveProvider>');
  return state;
}

export function useLiveDispatch(): Dispatch<AppEvent> {
  const dispatch = useContext(LiveDispatchContext);
  if (!dispatch) throw new Error('useLiveDispatch must be used inside <LiveProvider>');
  return dispatch;
}

export function useFreshCommentIds(): ReadonlySet<number> {
  return useContext(FreshCommentsContext);
}
