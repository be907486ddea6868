import { useConnectionStatus } from '../realtime/connection';
import type { ConnectionStatus } from '../realtime/LiveSocket';

const LOOK: Record<ConnectionStatus, { label: string; dot: string; text: string; hint: string }> = {
  connecting: {
    label: 'Connecting',
    dot: 'bg-amber-400 animate-pulse',
    text: 'text-amber-800 bg-amber-50 ring-amber-200',
    hint: 'Connecting to live updates',
  },
  live: {
    label: 'Live',
    dot: 'bg-emerald-500',
    text: 'text-emerald-800 bg-emerald-50 ring-emerald-200',
    hint: 'Live: updates arrive as they happen',
  },
  reconnecting: {
    label: 'Reconnecting',
    dot: 'bg-amber-400 animate-pulse',
    text: 'text-amber-800 bg-amber-50 ring-amber-200',
    hint: 'Connection lost, reconnecting',
  },
  offline: {
    label: 'Offline',
    dot: 'bg-stone-400',
    text: 'text-stone-700 bg-stone-100 ring-stone-300',
    hint: 'Offline: live updates paused, retrying in the background',
  },
};

export function ConnectionBadge() {
  const status = useConnectionStatus();
  const look = LOOK[status];
  return (
    <span
      role="status"
      aria-live="polite"
      title={look.hint}
      data-status={status}
      data-testid="connection-badge"
      className={`inline-flex items-center gap-1.5 rounded-full px-2.5 py-1 text-xs font-medium ring-1 ${look.text}`}
    >
      <span aria-hidden="true" className={`h-2 w-2 rounded-full ${look.dot}`} />
      <span className="sr-only">Connection: </span>
      {look.label}
    </span>
  );
}
