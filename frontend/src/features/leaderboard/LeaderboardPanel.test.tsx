import { act, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { alice, bob } from '../../test/fixtures';
import { mockFetch, renderApp, ScriptedSocket, scriptedSocket } from '../../test/renderApp';

afterEach(() => {
  vi.unstubAllGlobals();
  ScriptedSocket.current = null;
});

function routes(entries: unknown[]) {
  return {
    'GET /api/auth/me/': () => ({ status: 403, body: { detail: 'Not logged in.' } }),
    'GET /api/auth/csrf/': () => ({ status: 204 }),
    'GET /api/leaderboard/': () => ({ body: { window_hours: 24, entries } }),
    'GET /api/posts/': () => ({ body: { results: [], next: null } }),
  };
}

describe('leaderboard', () => {
  it('explains an empty board', async () => {
    mockFetch(routes([]));
    renderApp('/');
    expect(await within(screen.getByTestId('leaderboard')).findByText(/No karma yet today/)).toBeInTheDocument();
    expect(within(screen.getByTestId('leaderboard-compact')).getByText('No karma yet today')).toBeInTheDocument();
  });

  it('shows the REST board, then follows the socket', async () => {
    mockFetch(routes([{ rank: 1, user: alice, karma: 5 }]));
    renderApp('/');
    const panel = screen.getByTestId('leaderboard');
    expect(await within(panel).findByText('alice')).toBeInTheDocument();
    const socket = await scriptedSocket();
    act(() => {
      socket.open();
      socket.push({
        type: 'leaderboard',
        window_hours: 24,
        entries: [
          { rank: 1, user: bob, karma: 11 },
          { rank: 2, user: alice, karma: 5 },
        ],
      });
    });
    const rows = within(panel).getAllByTestId('leaderboard-entry');
    expect(rows.map((row) => row.dataset.username)).toEqual(['bob', 'alice']);
    expect(within(rows[0] as HTMLElement).getByTestId('leaderboard-karma')).toHaveTextContent('11');
  });
});
