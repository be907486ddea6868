import { Link } from 'react-router-dom';
import type { Leaderboard } from '../../api/types';
import { Avatar } from '../../components/Avatar';
import { KARMA_WINDOW_HOURS } from '../../generated/limits';
import { useLeaderboard } from './useLeaderboard';

const MEDALS = ['bg-amber-400 text-amber-950', 'bg-stone-300 text-stone-800', 'bg-orange-300 text-orange-950'];

function rankBadge(rank: number): string {
  return MEDALS[rank - 1] ?? 'bg-stone-100 text-stone-600';
}

function windowLabel(leaderboard: Leaderboard | null): string {
  return `Last ${leaderboard?.window_hours ?? KARMA_WINDOW_HOURS} hours`;
}

/** The full leaderboard card for the desktop sidebar. */
export function LeaderboardPanel() {
  const leaderboard = useLeaderboard();
  return (
    <section
      aria-labelledby="leaderboard-title"
      data-testid="leaderboard"
      className="rounded-2xl border border-stone-200 bg-white p-4 shadow-sm"
    >
      <div className="flex items-baseline justify-between">
        <h2 id="leaderboard-title" className="text-sm font-semibold text-stone-900">
          Top karma
        </h2>
        <span className="text-xs text-stone-400">{windowLabel(leaderboard)}</span>
      </div>
      {leaderboard === null ? (
        <ol aria-hidden="true" className="mt-3 space-y-2">
          {[0, 1, 2].map((index) => (
            <li key={index} className="h-8 animate-pulse rounded-lg bg-stone-100" />
          ))}
        </ol>
      ) : leaderboard.entries.length === 0 ? (
        <p className="mt-3 text-sm text-stone-500">
          No karma yet today. Likes on posts (+5) and comments (+1) put people here.
        </p>
      ) : (
        <ol className="mt-3 space-y-1">
          {leaderboard.entries.map((entry) => (
            <li key={entry.user.id} data-testid="leaderboard-entry" data-username={entry.user.username}>
              <Link
                to={`/users/${encodeURIComponent(entry.user.username)}`}
                className="flex items-center gap-3 rounded-lg px-2 py-1.5 hover:bg-stone-50 focus-visible:outline-2 focus-visible:outline-indigo-500"
              >
                <span
                  className={`inline-flex h-5 w-5 shrink-0 items-center justify-center rounded-full text-[11px] font-bold ${rankBadge(entry.rank)}`}
                >
                  {entry.rank}
                </span>
                <Avatar username={entry.user.username} size="sm" />
                <span className="min-w-0 flex-1 truncate text-sm font-medium text-stone-800">{entry.user.username}</span>
                <span className="text-sm tabular-nums text-stone-600" data-testid="leaderboard-karma">
                  {entry.karma}
                </span>
              </Link>
            </li>
          ))}
        </ol>
      )}
      <p className="mt-3 border-t border-stone-100 pt-3 text-xs leading-relaxed text-stone-400">
        A like on a post earns its author 5 karma, on a comment 1.
      </p>
    </section>
  );
}

/** The same data as a single scrollable row, for narrow screens. */
export function LeaderboardStrip() {
  const leaderboard = useLeaderboard();
  return (
    <section
      aria-label={`Top karma, ${windowLabel(leaderboard).toLowerCase()}`}
      data-testid="leaderboard-compact"
      className="sticky top-14 z-20 -mx-4 bg-stone-50/90 px-4 py-2 backdrop-blur lg:hidden"
    >
      <div className="flex items-center gap-2 overflow-x-auto rounded-2xl border border-stone-200 bg-white px-3 py-2 shadow-sm [scrollbar-width:none]">
        <span className="shrink-0 text-xs font-semibold uppercase tracking-wide text-stone-400">Top 24h</span>
        {leaderboard === null ? (
          <span className="h-6 w-40 animate-pulse rounded-full bg-stone-100" aria-hidden="true" />
        ) : leaderboard.entries.length === 0 ? (
          <span className="text-xs text-stone-500">No karma yet today</span>
        ) : (
          leaderboard.entries.map((entry) => (
            <Link
              key={entry.user.id}
              to={`/users/${encodeURIComponent(entry.user.username)}`}
              className="inline-flex shrink-0 items-center gap-1.5 rounded-full bg-stone-50 py-0.5 pl-0.5 pr-2.5 text-xs ring-1 ring-stone-200 hover:bg-stone-100 focus-visible:outline-2 focus-visible:outline-indigo-500"
            >
              <span
                className={`inline-flex h-5 w-5 items-center justify-center rounded-full text-[10px] font-bold ${rankBadge(entry.rank)}`}
              >
                {entry.rank}
              </span>
              <span className="max-w-[7rem] truncate font-medium text-stone-800">{entry.user.username}</span>
              <span className="tabular-nums text-stone-500">{entry.karma}</span>
            </Link>
          ))
        )}
      </div>
    </section>
  );
}
