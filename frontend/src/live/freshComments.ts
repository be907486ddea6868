import { flattenEvents } from '../realtime/events';
import type { AppEvent } from '../state/types';

/**
 * The comments an event brings onto the screen while the page is open, to be
 * highlighted for a moment. Screen state, not domain state: the timer that
 * ends the highlight lives with the provider, not in the reducers.
 */
export function arrivingCommentIds(event: AppEvent): number[] {
  if (event.type === 'comment.published') return [event.comment.id];
  if (event.type !== 'comment.created' && event.type !== 'batch') return [];
  return flattenEvents(event).flatMap((single) => (single.type === 'comment.created' ? [single.comment.id] : []));
}

export function withoutIds(fresh: ReadonlySet<number>, ids: readonly number[]): ReadonlySet<number> {
  const next = new Set(fresh);
  for (const id of ids) next.delete(id);
  return next;
}
