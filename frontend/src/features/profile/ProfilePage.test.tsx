import { act, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bob } from '../../test/fixtures';
import { mockFetch, renderApp, ScriptedSocket, scriptedSocket } from '../../test/renderApp';

afterEach(() => {
  vi.unstubAllGlobals();
  ScriptedSocket.current = null;
});

describe('ProfilePage', () => {
  it('shows both karma numbers and reads them again when the leaderboard moves', async () => {
    let reads = 0;
    mockFetch({
      'GET /api/auth/me/': () => ({ status: 403, body: { detail: 'Not logged in.' } }),
      'GET /api/auth/csrf/': () => ({ status: 204 }),
      'GET /api/leaderboard/': () => ({ body: { window_hours: 24, entries: [] } }),
      'GET /api/users/bob/': () => {
        reads += 1;
        return { body: { ...bob, karma_24h: reads === 1 ? 5 : 10, karma_total: reads === 1 ? 42 : 47 } };
      },
    });
    renderApp('/users/bob');
    expect(await screen.findByRole('heading', { name: 'bob' })).toBeInTheDocument();
    expect(screen.getByTestId('karma-24h')).toHaveTextContent('5');
    expect(screen.getByTestId('karma-total')).toHaveTextContent('42');
    const socket = await scriptedSocket();
    act(() => {
      socket.open();
      socket.push({ type: 'leaderboard', window_hours: 24, entries: [{ rank: 1, user: bob, karma: 10 }] });
    });
    expect(await screen.findByText('47')).toBeInTheDocument();
    expect(screen.getByTestId('karma-24h')).toHaveTextContent('10');
  });

  it('says when nobody has that name', async () => {
    mockFetch({
      'GET /api/auth/me/': () => ({ status: 403, body: { detail: 'Not logged in.' } }),
      'GET /api/leaderboard/': () => ({ body: { window_hours: 24, entries: [] } }),
      'GET /api/users/nobody/': () => ({ status: 404, body: { detail: 'Not found.' } }),
    });
    renderApp('/users/nobody');
    expect(await screen.findByText('No one is called “nobody”')).toBeInTheDocument();
  });
});
