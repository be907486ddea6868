import { BrowserRouter, Link, Route, Routes } from 'react-router-dom';
import { Layout } from './Layout';
import { EmptyState } from './components/StatusViews';
import { ToastProvider } from './components/Toast';
import { useAuth } from './features/auth/AuthContext';
import { AuthProvider } from './features/auth/AuthProvider';
import { FeedPage } from './features/feed/FeedPage';
import { ProfilePage } from './features/profile/ProfilePage';
import { ThreadPage } from './features/thread/ThreadPage';
import type { LiveSocketOptions } from './realtime/LiveSocket';
import { LiveProvider } from './live/LiveProvider';

function NotFound() {
  return (
    <EmptyState title="Page not found" icon="?">
      <Link to="/" className="font-medium text-indigo-600 hover:underline">
        Back to the feed
      </Link>
    </EmptyState>
  );
}

function LiveApp({ socketOptions }: { socketOptions?: Partial<LiveSocketOptions> }) {
  const { user } = useAuth();
  return (
    <LiveProvider user={user} socketOptions={socketOptions}>
      <Routes>
        <Route element={<Layout />}>
          <Route index element={<FeedPage />} />
          <Route path="posts/:postId" element={<ThreadPage />} />
          <Route path="users/:username" element={<ProfilePage />} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </LiveProvider>
  );
}

/** Everything below the router; tests mount it inside a memory router with a fake socket. */
export function AppShell({ socketOptions }: { socketOptions?: Partial<LiveSocketOptions> }) {
  return (
    <ToastProvider>
      <AuthProvider>
        <LiveApp socketOptions={socketOptions} />
      </AuthProvider>
    </ToastProvider>
  );
}

export function App() {
  return (
    <BrowserRouter>
      <AppShell />
    </BrowserRouter>
  );
}
