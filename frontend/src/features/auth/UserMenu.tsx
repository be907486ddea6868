import { Link } from 'react-router-dom';
import { Avatar } from '../../components/Avatar';
import { useAuth } from './AuthContext';

/** The header's right side: who is logged in, or the ways in. */
export function UserMenu() {
  const { user, logout, openAuthDialog } = useAuth();

  if (user === undefined) return <span className="h-8 w-24 animate-pulse rounded-lg bg-stone-200" aria-hidden="true" />;

  if (user === null) {
    return (
      <div className="flex items-center gap-2">
        <button
          type="button"
          onClick={() => openAuthDialog('login')}
          className="rounded-lg px-3 py-1.5 text-sm font-medium text-stone-700 hover:bg-stone-100 focus-visible:outline-2 focus-visible:outline-indigo-500"
        >
          Log in
        </button>
        <button
          type="button"
          onClick={() => openAuthDialog('signup')}
          className="rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
        >
          Sign up
        </button>
      </div>
    );
  }

  return (
    <div className="flex items-center gap-2">
      <Link
        to={`/users/${encodeURIComponent(user.username)}`}
        className="flex items-center gap-2 rounded-lg px-1.5 py-1 hover:bg-stone-100 focus-visible:outline-2 focus-visible:outline-indigo-500"
        aria-label={`Your profile, logged in as ${user.username}`}
        data-testid="current-user"
      >
        <Avatar username={user.username} size="sm" />
        <span className="max-w-[7rem] truncate text-sm font-medium text-stone-800 sm:max-w-[10rem]">{user.username}</span>
      </Link>
      <button
        type="button"
        onClick={() => void logout()}
        className="rounded-lg px-2.5 py-1.5 text-sm text-stone-600 hover:bg-stone-100 hover:text-stone-900 focus-visible:outline-2 focus-visible:outline-indigo-500"
      >
        Log out
      </button>
    </div>
  );
}
