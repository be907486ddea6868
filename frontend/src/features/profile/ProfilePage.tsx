import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api } from '../../api/client';
import { ApiError, describeError } from '../../api/errors';
import type { UserProfile } from '../../api/types';
import { Avatar } from '../../components/Avatar';
import { BackToFeed } from '../../components/BackToFeed';
import { EmptyState, ErrorState, Spinner } from '../../components/StatusViews';
import { KARMA_WINDOW_HOURS } from '../../generated/limits';
import { useLiveState } from '../../state/store';
import { useAuth } from '../auth/AuthContext';

type ProfileLoad =
  | { kind: 'loading' }
  | { kind: 'ready'; profile: UserProfile }
  | { kind: 'error'; message: string; notFound: boolean };

export function ProfilePage() {
  const { username = '' } = useParams();
  return <Profile key={username} username={username} />;
}

function Profile({ username }: { username: string }) {
  const { user } = useAuth();
  const leaderboard = useLiveState().leaderboard.board;
  const [load, setLoad] = useState<ProfileLoad>({ kind: 'loading' });

  const [attempt, setAttempt] = useState(0);
  const entry = leaderboard?.entries.find((item) => item.user.username.toLowerCase() === username.toLowerCase());
  const liveKarma = entry?.karma;

  // Read again when the leaderboard reports a new 24-hour karma for this
  // person, so both numbers stay in step without a reload.
  useEffect(() => {
    const controller = new AbortController();
    api.profile(username, controller.signal).then(
      (profile) => setLoad({ kind: 'ready', profile }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setLoad({
          kind: 'error',
          message: describeError(error),
          notFound: error instanceof ApiError && error.status === 404,
        });
      },
    );
    return () => controller.abort();
  }, [username, liveKarma, attempt]);

  function retry() {
    setLoad({ kind: 'loading' });
    setAttempt((count) => count + 1);
  }

  if (load.kind === 'loading') {
    return (
      <div className="flex justify-center rounded-2xl border border-stone-200 bg-white p-10">
        <Spinner label="Loading profile" />
      </div>
    );
  }
  if (load.kind === 'error') {
    return load.notFound ? (
      <EmptyState title={`No one is called “${username}”`} icon="?">
        <Link to="/" className="font-medium text-indigo-600 hover:underline">
          Back to the feed
        </Link>
      </EmptyState>
    ) : (
      <ErrorState message={`The profile could not be loaded. ${load.message}`} onRetry={retry} />
    );
  }

  const { profile } = load;
  const isMe = user?.id === profile.id;
  return (
    <div className="space-y-4">
      <BackToFeed />
      <section className="rounded-2xl border border-stone-200 bg-white p-6 shadow-sm" aria-labelledby="profile-name">
        <div className="flex items-center gap-4">
          <Avatar username={profile.username} size="lg" />
          <div className="min-w-0">
            <h1 id="profile-name" className="truncate text-2xl font-semibold text-stone-900">
              {profile.username}
            </h1>
            <p className="text-sm text-stone-500">
              {isMe ? 'This is you.' : 'Member of the community.'}
              {entry && ` Number ${entry.rank} on today’s leaderboard.`}
            </p>
          </div>
        </div>
        <dl className="mt-6 grid grid-cols-2 gap-3">
          <div className="rounded-xl bg-indigo-50 p-4">
            <dt className="text-xs font-medium uppercase tracking-wide text-indigo-700">Karma, last {KARMA_WINDOW_HOURS} h</dt>
            <dd className="mt-1 text-3xl font-semibold tabular-nums text-indigo-950" data-testid="karma-24h">
              {profile.karma_24h}
            </dd>
          </div>
          <div className="rounded-xl bg-stone-100 p-4">
            <dt className="text-xs font-medium uppercase tracking-wide text-stone-600">Karma, all time</dt>
            <dd className="mt-1 text-3xl font-semibold tabular-nums text-stone-900" data-testid="karma-total">
              {profile.karma_total}
            </dd>
          </div>
        </dl>
        <p className="mt-4 text-xs text-stone-400">Each like on a post earns 5 karma, each like on a comment 1.</p>
      </section>
    </div>
  );
}
