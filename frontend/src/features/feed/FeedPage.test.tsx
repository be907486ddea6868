import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { alice, bob, makePost } from '../../test/fixtures';
import { mockFetch, renderApp, ScriptedSocket, scriptedSocket } from '../../test/renderApp';

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
    const socket = await scriptedSocket();
    act(() => socket.open());
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
    const socket = await scriptedSocket();
    act(() => {
      socket.open();
      socket.push({ type: 'post.created', post: makePost(3, { author: bob, content: 'Fresh news' }) });
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
    const socket = await scriptedSocket();
    act(() => {
      socket.open();
      socket.push({
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

  it('posts once on a double click, and retries a failed attempt with the same key', async () => {
    let fail = true;
    let release: () => void = () => undefined;
    const { calls } = mockFetch(
      feedRoutes({
        'POST /api/posts/': async () => {
          if (fail) return { status: 503, body: { detail: 'Try later.' } };
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          return { status: 201, body: makePost(9, { author: alice, content: 'Hello there' }) };
        },
      }),
    );
    document.cookie = 'csrftoken=token123';
    renderApp('/');
    await screen.findByText('Second post');
    fireEvent.change(screen.getByRole('textbox', { name: 'What is on your mind?' }), { target: { value: 'Hello there' } });
    await userEvent.click(screen.getByRole('button', { name: 'Post' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Try later.');

    fail = false;
    const button = screen.getByRole('button', { name: 'Post' });
    await userEvent.dblClick(button);
    await act(async () => release());
    expect(await within(screen.getByTestId('feed-list')).findByText('Hello there')).toBeInTheDocument();

    const creates = calls.filter((call) => call.method === 'POST' && call.path === '/api/posts/');
    expect(creates).toHaveLength(2);
    const [first, retry] = creates.map((call) => call.headers['Idempotency-Key']);
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(retry).toBe(first);

    fireEvent.change(screen.getByRole('textbox', { name: 'What is on your mind?' }), { target: { value: 'Another one' } });
    await userEvent.click(screen.getByRole('button', { name: 'Post' }));
    await act(async () => release());
    const keys = calls.filter((call) => call.path === '/api/posts/' && call.method === 'POST').map((call) => call.headers['Idempotency-Key']);
    expect(keys).toHaveLength(3);
    expect(keys[2]).not.toBe(first);
  }, 20_000);

  it('counts characters as the server does: 6,000 emoji fit in a post', async () => {
    mockFetch(feedRoutes());
    renderApp('/');
    await screen.findByText('Second post');
    const box = screen.getByRole('textbox', { name: 'What is on your mind?' });
    act(() => {
      fireEvent.change(box, { target: { value: '😀'.repeat(6_000) } });
    });
    expect(screen.getByRole('button', { name: 'Post' })).toBeEnabled();
    act(() => {
      fireEvent.change(box, { target: { value: '😀'.repeat(10_001) } });
    });
    expect(screen.getByRole('button', { name: 'Post' })).toBeDisabled();
    expect(screen.getByText('10,001 / 10,000')).toBeInTheDocument();
  });

  it('shows how many people have a post open, and drops a post deleted elsewhere', async () => {
    mockFetch(feedRoutes());
    renderApp('/');
    await screen.findByText('Second post');
    const socket = await scriptedSocket();
    act(() => {
      socket.open();
      socket.push({ type: 'post.viewers', post_id: 2, count: 3 });
    });
    expect(screen.getByTestId('viewers-2')).toHaveTextContent('3 here');
    act(() => socket.push({ type: 'post.deleted', post_id: 2, stream: 'feed', seq: 1 }));
    expect(screen.queryByText('Second post')).not.toBeInTheDocument();
    expect(screen.getByText('Post 1')).toBeInTheDocument();
  });
});
