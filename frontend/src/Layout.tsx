import { Link, Outlet } from 'react-router-dom';
import { UserMenu } from './features/auth/UserMenu';
import { LeaderboardPanel, LeaderboardStrip } from './features/leaderboard/LeaderboardPanel';
import { ConnectionBadge } from './components/ConnectionBadge';

export function Layout() {
  return (
    <div className="min-h-screen bg-stone-50 text-stone-900">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:fixed focus:left-4 focus:top-4 focus:z-50 focus:rounded-lg focus:bg-white focus:px-3 focus:py-2 focus:shadow"
      >
        Skip to content
      </a>
      <header className="sticky top-0 z-30 border-b border-stone-200/80 bg-stone-50/85 backdrop-blur">
        <div className="mx-auto flex h-14 max-w-6xl items-center gap-3 px-4">
          <Link
            to="/"
            className="flex items-center gap-2 rounded-lg font-semibold tracking-tight text-stone-900 focus-visible:outline-2 focus-visible:outline-indigo-500"
            aria-label="KarmaFeed, go to the feed"
          >
            <span aria-hidden="true" className="inline-flex h-7 w-7 items-center justify-center rounded-lg bg-indigo-600 text-sm text-white">
              ✦
            </span>
            <span className="hidden sm:inline">KarmaFeed</span>
          </Link>
          <ConnectionBadge />
          <div className="ml-auto">
            <UserMenu />
          </div>
        </div>
      </header>

      <div className="mx-auto grid max-w-6xl gap-6 px-4 pb-5 pt-2 lg:grid-cols-[minmax(0,1fr)_18rem] lg:py-8">
        <div className="min-w-0 space-y-3">
          <LeaderboardStrip />
          <main id="main" className="min-w-0">
            <Outlet />
          </main>
        </div>
        <aside className="hidden lg:block" aria-label="Sidebar">
          <div className="sticky top-20 space-y-4">
            <LeaderboardPanel />
          </div>
        </aside>
      </div>
    </div>
  );
}
