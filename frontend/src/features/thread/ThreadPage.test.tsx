import { act, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CommentNode } from '../../api/types';
import { alice, bob, deepChain, deepChainJson, makeComment, makePost, node } from '../../test/fixtures';
import { mockFetch, renderApp, ScriptedSocket, scriptedSocket } from '../../test/renderApp';

afterEach(() => {
  vi.unstubAllGlobals();
  ScriptedSocket.current = null;
});

function threadRoutes(comments: CommentNode[], commentCount: number) {
  return {
    'GET /api/auth/me/': () => ({ body: alice }),
    'GET /api/auth/csrf/': () => ({ status: 204 }),
    'GET /api/leaderboard/': () => ({ body: { window_hours: 24, entries: [] } }),
    'GET /api/posts/5/': () => ({
      body: { ...makePost(5, { content: 'The post', comment_count: commentCount }), comments },
    }),
  };
}

function commentIds(): number[] {
  return screen.queryAllByTestId('comment').map((element) => Number(element.dataset.commentId));
}

describe('ThreadPage', () => {
  const a = makeComment(11, 5, null, { content: 'First root' });
  const b = makeComment(12, 5, 11, { content: 'A reply', depth: 1 });
  const c = makeComment(13, 5, null, { content: 'Second root' });

  it('renders the thread in reading order and follows the post', async () => {
    mockFetch(threadRoutes([node(a, [node(b)]), node(c)], 3));
    renderApp('/posts/5');
    expect(await screen.findByText('The post')).toBeInTheDocument();
    expect(commentIds()).toEqual([11, 12, 13]);
    expect(screen.getByText('3 comments')).toBeInTheDocument();
    const socket = await scriptedSocket();
    act(() => socket.open());
    expect(socket.sent).toContainEqual({ type: 'subscribe', post_ids: [5] });
  });

  it('collapses and expands a subtree with the keyboard-reachable buttons', async () => {
    mockFetch(threadRoutes([node(a, [node(b)]), node(c)], 3));
    renderApp('/posts/5');
    await screen.findByText('A reply');
    await userEvent.click(screen.getByRole('button', { name: `Collapse the comment by ${a.author?.username} and its replies` }));
    expect(commentIds()).toEqual([11, 13]);
    await userEvent.click(screen.getByRole('button', { name: /Expand the comment by bob and 1 reply/ }));
    expect(commentIds()).toEqual([11, 12, 13]);
  });

  it('inserts a live comment under its parent and highlights it', async () => {
    mockFetch(threadRoutes([node(a, [node(b)]), node(c)], 3));
    renderApp('/posts/5');
    await screen.findByText('A reply');
    const socket = await scriptedSocket();
    act(() => {
      socket.open();
      socket.push({
        type: 'comment.created',
        post_id: 5,
        comment: makeComment(14, 5, 11, { author: bob, content: 'Live reply', depth: 1 }),
        comment_count: 4,
      });
    });
    expect(commentIds()).toEqual([11, 12, 14, 13]);
    const live = screen.getAllByTestId('comment')[2] as HTMLElement;
    expect(within(live).getByText('new')).toBeInTheDocument();
    expect(screen.getByText('4 comments')).toBeInTheDocument();
  });

  it('keeps a 10,000-deep chain usable: six levels, then "continue this thread"', async () => {
    mockFetch({
      ...threadRoutes([], 10_000),
      'GET /api/posts/5/': () => ({ raw: deepChainJson(makePost(5, { comment_count: 10_000 }), 10_000) }),
    });
    renderApp('/posts/5');
    const link = await screen.findByRole('link', { name: /Continue this thread \(9,?994 more replies\)/ });
    expect(link).toHaveAttribute('href', '/posts/5?comment=6');
    expect(screen.getAllByTestId('comment')).toHaveLength(6);
  });

  it('shows a focused branch with a way back up', async () => {
    mockFetch(threadRoutes(deepChain(5, 20, 1), 20));
    renderApp('/posts/5?comment=10');
    await screen.findByText(/You are reading a single branch/);
    expect(commentIds()).toEqual([10, 11, 12, 13, 14, 15]);
    expect(screen.getByRole('link', { name: '↑ Parent comment' })).toHaveAttribute('href', '/posts/5?comment=9');
    expect(screen.getByRole('link', { name: 'View the whole thread' })).toHaveAttribute('href', '/posts/5');
  });

  it('posts a reply and shows it at once', async () => {
    const { calls } = mockFetch({
      ...threadRoutes([node(a)], 1),
      'POST /api/posts/5/comments/': () => ({
        status: 201,
        body: makeComment(20, 5, 11, { author: alice, content: 'My answer', depth: 1 }),
      }),
    });
    document.cookie = 'csrftoken=token123';
    renderApp('/posts/5');
    await screen.findByText('First root');
    await userEvent.click(screen.getByRole('button', { name: `Reply to ${a.author?.username}` }));
    await userEvent.type(screen.getByRole('textbox', { name: `Reply to ${a.author?.username}` }), 'My answer');
    await userEvent.click(screen.getByRole('button', { name: 'Reply' }));
    expect(await screen.findByText('My answer')).toBeInTheDocument();
    expect(commentIds()).toEqual([11, 20]);
    expect(calls.find((call) => call.method === 'POST')?.body).toEqual({ content: 'My answer', parent_id: 11 });
  });

  it('shows field errors from the server in words', async () => {
    mockFetch({
      ...threadRoutes([], 0),
      'POST /api/posts/5/comments/': () => ({ status: 400, body: { content: ['This field may not be blank.'] } }),
    });
    document.cookie = 'csrftoken=token123';
    renderApp('/posts/5');
    await screen.findByText('No comments yet. Start the conversation.');
    await userEvent.type(screen.getByRole('textbox', { name: 'Write a comment' }), 'x');
    await userEvent.click(screen.getByRole('button', { name: 'Comment' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Text: This field may not be blank.');
  });

  it('says so when the post does not exist', async () => {
    mockFetch({ ...threadRoutes([], 0), 'GET /api/posts/5/': () => ({ status: 404, body: { detail: 'Not found.' } }) });
    renderApp('/posts/5');
    expect(await screen.findByText('This post does not exist')).toBeInTheDocument();
  });

  it('deletes my own comment after a confirmation and keeps the replies under its placeholder', async () => {
    const mine = makeComment(11, 5, null, { author: alice, content: 'Mine to delete' });
    const answer = makeComment(12, 5, 11, { author: bob, content: 'An answer', depth: 1 });
    const { calls } = mockFetch({
      ...threadRoutes([node(mine, [node(answer)]), node(c)], 3),
      'DELETE /api/comments/11/': () => ({ status: 204 }),
    });
    document.cookie = 'csrftoken=token123';
    renderApp('/posts/5');
    await screen.findByText('Mine to delete');
    // Only the author is offered the button: Alice's comment, not Bob's.
    expect(screen.getAllByRole('button', { name: 'Delete this comment' })).toHaveLength(1);
    await userEvent.click(screen.getByRole('button', { name: 'Delete this comment' }));
    expect(calls.some((call) => call.method === 'DELETE')).toBe(false);
    await userEvent.click(screen.getByRole('button', { name: 'Yes, delete' }));
    expect(await screen.findByText('This comment was deleted.')).toBeInTheDocument();
    expect(screen.queryByText('Mine to delete')).not.toBeInTheDocument();
    expect(commentIds()).toEqual([11, 12, 13]);
    expect(screen.getByText('An answer')).toBeInTheDocument();
    expect(screen.getByText('2 comments')).toBeInTheDocument();
    expect(calls.filter((call) => call.method === 'DELETE').map((call) => call.path)).toEqual(['/api/comments/11/']);
  });

  it('shows a comment deleted elsewhere as a placeholder, live, and how many are here', async () => {
    mockFetch(threadRoutes([node(a, [node(b)]), node(c)], 3));
    renderApp('/posts/5');
    await screen.findByText('First root');
    const socket = await scriptedSocket();
    act(() => {
      socket.open();
      socket.push({ type: 'subscribed', posts: [{ id: 5, like_count: 0, comment_count: 3, version: 0, seq: 0, viewers: 2 }] });
      socket.push({ type: 'comment.deleted', post_id: 5, comment_id: 11, comment_count: 2, stream: 'post.5', seq: 1 });
    });
    expect(screen.queryByText('First root')).not.toBeInTheDocument();
    expect(screen.getByText('This comment was deleted.')).toBeInTheDocument();
    expect(screen.getByText('A reply')).toBeInTheDocument();
    expect(screen.getByText('2 comments')).toBeInTheDocument();
    expect(screen.getByTestId('viewers-5')).toHaveTextContent('2 here');
  });
});
