import { act, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { alice, bob, makePost } from '../test/fixtures';
import { mockFetch, renderApp, ScriptedSocket } from '../test/renderApp';

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  ScriptedSocket.current = null;
});

describe('reconnecting from the screen’s point of view', () => {
  it('shows the status, re-subscribes, applies the snapshot and catches up on missed posts', async () => {
    let feedReads = 0;
    mockFetch({
      'GET /api/auth/me/': () => ({ body: alice }),
      'GET /api/auth/csrf/': () => ({ status: 204 }),
      'GET /api/leaderboard/': () => ({ body: { window_hours: 24, entries: [] } }),
      'GET /api/posts/': () => {
        feedReads += 1;
        const shown = [makePost(2, { like_count: 1, comment_count: 0 }), makePost(1)];
        const missed = makePost(3, { author: bob, content: 'Missed while away' });
        return { body: { results: feedReads === 1 ? shown : [missed, ...shown], next: null } };
      },
    });
    renderApp('/');
    await screen.findByText('Post 2');
    const first = ScriptedSocket.current as ScriptedSocket;
    act(() => first.open());
    await waitFor(() => expect(first.sent).toContainEqual({ type: 'subscribe', post_ids: [2, 1] }));

    act(() => first.drop());
    expect(screen.getByTestId('connection-badge')).toHaveAttribute('data-status', 'reconnecting');

    await waitFor(() => expect(ScriptedSocket.current).not.toBe(first), { timeout: 3_000 });
    const second = ScriptedSocket.current as ScriptedSocket;
    act(() => second.open());
    expect(screen.getByTestId('connection-badge')).toHaveAttribute('data-status', 'live');
    expect(second.sent).toEqual([{ type: 'subscribe', post_ids: [2, 1] }]);

    act(() =>
      second.push({
        type: 'subscribed',
        posts: [
          { id: 2, like_count: 6, comment_count: 4, version: 6 },
          { id: 1, like_count: 0, comment_count: 0, version: 0 },
        ],
      }),
    );
    expect(screen.getByTestId('like-count-post-2')).toHaveTextContent('6');
    expect(screen.getByTestId('comment-count-2')).toHaveTextContent('4');
    expect(await screen.findByTestId('new-posts-pill')).toHaveTextContent('Show 1 new post');
    expect(screen.queryByText('Missed while away')).not.toBeInTheDocument();
  });
});
