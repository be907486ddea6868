import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makePost } from '../../test/fixtures';
import { mockFetch, renderApp } from '../../test/renderApp';

afterEach(() => {
  vi.unstubAllGlobals();
});

function anonymousRoutes(overrides: Parameters<typeof mockFetch>[0] = {}) {
  return {
    'GET /api/auth/me/': () => ({ status: 403, body: { detail: 'Authentication credentials were not provided.' } }),
    'GET /api/auth/csrf/': () => ({ status: 204 }),
    'GET /api/leaderboard/': () => ({ body: { window_hours: 24, entries: [] } }),
    'GET /api/posts/': () => ({ body: { results: [makePost(1)], next: null } }),
    ...overrides,
  };
}

describe('sign up and log in', () => {
  it('signs up through the dialog, sends the CSRF token, and shows the user', async () => {
    document.cookie = 'csrftoken=abc';
    const { fetchMock } = mockFetch(
      anonymousRoutes({ 'POST /api/auth/signup/': () => ({ status: 201, body: { id: 9, username: 'carol' } }) }),
    );
    renderApp('/');
    await userEvent.click(await screen.findByRole('button', { name: 'Sign up' }));
    await userEvent.type(screen.getByLabelText('Username'), 'carol');
    await userEvent.type(screen.getByLabelText('Password'), 'a long passphrase');
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Sign up' }));
    expect(await screen.findByTestId('current-user')).toHaveAccessibleName(/carol/);
    const signupCall = fetchMock.mock.calls.find(([url]) => String(url).includes('signup'));
    expect((signupCall?.[1]?.headers as Record<string, string>)['X-CSRFToken']).toBe('abc');
    expect(signupCall?.[1]?.credentials).toBe('include');
  });

  it('shows the server’s field errors', async () => {
    mockFetch(
      anonymousRoutes({
        'POST /api/auth/signup/': () => ({ status: 400, body: { username: ['A user with that username already exists.'] } }),
      }),
    );
    renderApp('/');
    await userEvent.click(await screen.findByRole('button', { name: 'Sign up' }));
    await userEvent.type(screen.getByLabelText('Username'), 'alice');
    await userEvent.type(screen.getByLabelText('Password'), 'whatever123');
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Sign up' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Username: A user with that username already exists.');
    expect(screen.getByLabelText('Username')).toHaveAttribute('aria-invalid', 'true');
  });

  it('logs in with a detail error first, then succeeds, then logs out', async () => {
    let attempts = 0;
    mockFetch(
      anonymousRoutes({
        'POST /api/auth/login/': () => {
          attempts += 1;
          return attempts === 1
            ? { status: 400, body: { detail: 'Invalid username or password.' } }
            : { body: { id: 1, username: 'alice' } };
        },
        'POST /api/auth/logout/': () => ({ status: 204 }),
      }),
    );
    renderApp('/');
    await userEvent.click(await screen.findByRole('button', { name: 'Log in' }));
    await userEvent.type(screen.getByLabelText('Username'), 'alice');
    await userEvent.type(screen.getByLabelText('Password'), 'wrong');
    const submit = within(screen.getByRole('dialog')).getByRole('button', { name: 'Log in' });
    await userEvent.click(submit);
    expect(await screen.findByRole('alert')).toHaveTextContent('Invalid username or password.');
    await userEvent.click(submit);
    expect(await screen.findByTestId('current-user')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Log out' }));
    expect(await screen.findByRole('button', { name: 'Sign up' })).toBeInTheDocument();
  });
});
