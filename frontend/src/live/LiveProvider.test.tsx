import { act, render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import { AppShell } from '../App';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { alice, bob, makeComment, makePost } from '../test/fixtures';
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

describe('resuming streams from the screen’s point of view', () => {
  function threadRoutes(reads: { count: number }) {
    return {
      'GET /api/auth/me/': () => ({ body: alice }),
      'GET /api/auth/csrf/': () => ({ status: 204 }),
      'GET /api/leaderboard/': () => ({ body: { window_hours: 24, entries: [] } }),
      'GET /api/posts/5/': () => {
        reads.count += 1;
        const comments = reads.count === 1 ? [] : [{ ...makeComment(21, 5, null, { content: 'Read afresh' }), replies: [] }];
        return { body: { ...makePost(5, { content: 'The post', comment_count: comments.length }), comments, stream_seq: 4 } };
      },
    };
  }

  async function openThreadThenReconnect(reads: { count: number }) {
    mockFetch(threadRoutes(reads));
    renderApp('/posts/5');
    await screen.findByText('The post');
    const first = ScriptedSocket.current as ScriptedSocket;
    act(() => {
      first.open();
      first.push({ type: 'hello', user: alice, epoch: 'e1', feed_seq: 30 });
      first.push({ type: 'subscribed', posts: [{ id: 5, like_count: 0, comment_count: 0, version: 0, seq: 4 }] });
      first.drop();
    });
    await waitFor(() => expect(ScriptedSocket.current).not.toBe(first), { timeout: 3_000 });
    const second = ScriptedSocket.current as ScriptedSocket;
    act(() => second.open());
    expect(second.sent).toEqual([
      { type: 'resume', epoch: 'e1', positions: { feed: 30, 'post.5': 4 } },
      { type: 'subscribe', post_ids: [5] },
    ]);
    return second;
  }

  it('replays what a thread missed without reading it again', async () => {
    const reads = { count: 0 };
    const socket = await openThreadThenReconnect(reads);
    act(() => {
      socket.push({ type: 'hello', user: alice, epoch: 'e1', feed_seq: 30 });
      socket.push({ type: 'resumed', recovered: ['feed', 'post.5'], resync: [] });
      socket.push({
        type: 'batch',
        events: [
          { type: 'comment.created', post_id: 5, comment: makeComment(20, 5, null, { content: 'Missed reply' }), comment_count: 1, stream: 'post.5', seq: 5 },
          { type: 'post.likes', post_id: 5, like_count: 2, version: 2, stream: 'post.5', seq: 6 },
        ],
      });
    });
    expect(screen.getByText('Missed reply')).toBeInTheDocument();
    expect(screen.getByTestId('like-count-post-5')).toHaveTextContent('2');
    expect(reads.count).toBe(1);
  });

  it('reads the thread again only when its stream must be resynced', async () => {
    const reads = { count: 0 };
    const socket = await openThreadThenReconnect(reads);
    act(() => socket.push({ type: 'resumed', recovered: ['feed'], resync: ['post.5'] }));
    expect(await screen.findByText('Read afresh')).toBeInTheDocument();
    expect(reads.count).toBe(2);
  });
});

describe('connecting once the session is known', () => {
  it('opens one socket, as the user, not one as nobody first', async () => {
    let answerMe: (value: { body: unknown }) => void = () => undefined;
    let sockets = 0;
    mockFetch({
      'GET /api/auth/me/': () =>
        new Promise<{ body: unknown }>((resolve) => {
          answerMe = resolve;
        }),
      'GET /api/auth/csrf/': () => ({ status: 204 }),
      'GET /api/leaderboard/': () => ({ body: { window_hours: 24, entries: [] } }),
      'GET /api/posts/': () => ({ body: { results: [makePost(1)], next: null } }),
    });
    render(
      <MemoryRouter initialEntries={['/']}>
        <AppShell
          socketOptions={{
            url: 'ws://127.0.0.1/ws/',
            createSocket: () => {
              sockets += 1;
              return new ScriptedSocket();
            },
          }}
        />
      </MemoryRouter>,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sockets).toBe(0);
    await act(async () => answerMe({ body: alice }));
    await screen.findByText('Post 1');
    expect(sockets).toBe(1);
  });
});
