import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { alice, bob, makePost } from '../../test/fixtures';
import { mockFetch, renderApp, ScriptedSocket } from '../../test/renderApp';

afterEach(() => {
  vi.unstubAllGlobals();
  ScriptedSocket.current = null;
});

function feedRoutes(overrides: Parameters<typeof mockFetch>[0] = {}) {
  return {
    'GET /api/auth/me/': () => ({ body: alice }),
    'GET /api/auth/csrf/': () => ({ status: 204 }),
    'GET /api/leaderboard/': () => ({ body: { window_hours: 24, entries: [] } }),
    'GET /api/posts/': () => ({
      body: { results: [makePost(2, { author: bob, like_count: 3, content: 'Second post' }), makePost(1)], next: null },
    }),
    ...overrides,
  };
}

describe('FeedPage', () => {
  it('shows posts, the user in the header and the live badge', async () => {
    mockFetch(feedRoutes());
    renderApp('/');
    expect(await screen.findByText('Second post')).toBeInTheDocument();
    expect(screen.getByTestId('current-user')).toHaveAccessibleName(/alice/);
    expect(screen.getByTestId('connection-badge')).toHaveTextContent('Connecting');
    act(() => ScriptedSocket.current?.open());
    expect(screen.getByTestId('connection-badge')).toHaveTextContent('Live');
  });

  it('likes at once and settles on the answer', async () => {
    let resolveLike: (value: { body: unknown }) => void = () => undefined;
    mockFetch(
      feedRoutes({
        'POST /api/posts/2/like/': () =>
          new Promise<{ body: unknown }>((resolve) => {
            resolveLike = resolve;
          }),
      }),
    );
    document.cookie = 'csrftoken=token123';
    renderApp('/');
    const button = await screen.findByRole('button', { name: /like this post \(3 likes\)/i });
    await userEvent.click(button);
    expect(screen.getByTestId('like-count-post-2')).toHaveTextContent('4');
    await act(async () => resolveLike({ body: { liked: true, like_count: 9 } }));
    await waitFor(() => expect(screen.getByTestId('like-count-post-2')).toHaveTextContent('9'));
    expect(screen.getByRole('button', { name: /unlike this post/i })).toHaveAttribute('aria-pressed', 'true');
  });

  it('rolls a failed like back and says why', async () => {
    const { calls } = mockFetch(
      feedRoutes({ 'POST /api/posts/2/like/': () => ({ status: 503, body: { detail: 'Database unavailable.' } }) }),
    );
    document.cookie = 'csrftoken=token123';
    renderApp('/');
    await userEvent.click(await screen.findByRole('button', { name: /like this post \(3 likes\)/i }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Could not like that post: Database unavailable.');
    expect(screen.getByTestId('like-count-post-2')).toHaveTextContent('3');
    expect(calls.find((call) => call.method === 'POST')).toBeDefined();
  });

  it('holds live posts by others behind a pill and reveals them on click', async () => {
    mockFetch(feedRoutes());
    renderApp('/');
    await screen.findByText('Second post');
    act(() => {
      ScriptedSocket.current?.open();
      ScriptedSocket.current?.push({ type: 'post.created', post: makePost(3, { author: bob, content: 'Fresh news' }) });
    });
    expect(screen.queryByText('Fresh news')).not.toBeInTheDocument();
    const pill = screen.getByTestId('new-posts-pill');
    expect(pill).toHaveTextContent('Show 1 new post');
    window.scrollTo = vi.fn();
    await userEvent.click(pill);
    const list = screen.getByTestId('feed-list');
    expect(within(list).getAllByTestId('post-card')[0]).toHaveTextContent('Fresh news');
  });

  it('applies live like counts from the socket', async () => {
    mockFetch(feedRoutes());
    renderApp('/');
    await screen.findByText('Second post');
    act(() => {
      ScriptedSocket.current?.open();
      ScriptedSocket.current?.push({
        type: 'batch',
        events: [
          { type: 'post.likes', post_id: 2, like_count: 8, version: 8 },
          { type: 'post.likes', post_id: 2, like_count: 5, version: 5 },
        ],
      });
    });
    expect(screen.getByTestId('like-count-post-2')).toHaveTextContent('8');
  });

  it('asks an anonymous visitor to log in before liking', async () => {
    const { calls } = mockFetch(feedRoutes({ 'GET /api/auth/me/': () => ({ status: 403, body: { detail: 'No.' } }) }));
    renderApp('/');
    await userEvent.click(await screen.findByRole('button', { name: /like this post \(3 likes\)/i }));
    expect(await screen.findByRole('dialog')).toHaveTextContent('Log in to like this post.');
    expect(calls.some((call) => call.path.includes('/like/'))).toBe(false);
  });

  it('shows a designed error with a retry when the feed fails', async () => {
    let fail = true;
    mockFetch(
      feedRoutes({
        'GET /api/posts/': () =>
          fail ? { status: 503, body: { detail: 'Try later.' } } : { body: { results: [], next: null } },
      }),
    );
    renderApp('/');
    expect(await screen.findByText(/The feed could not be loaded. Try later./)).toBeInTheDocument();
    fail = false;
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText('Nothing here yet')).toBeInTheDocument();
  });
});
