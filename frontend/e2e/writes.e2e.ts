import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiDriver, PASSWORD, type Session } from './browser';
import { eventually, TwoPeople, waitForLive } from './scene';

async function postsWithContent(session: Session, content: string): Promise<number> {
  const page = (await (await session.context.request.get('/api/posts/?page_size=100')).json()) as {
    results: { content: string }[];
  };
  return page.results.filter((post) => post.content === content).length;
}

describe('writes, presence and coming back from offline, in a real browser against the real backend', () => {
  let scene: TwoPeople;
  let ada: Session;
  let grace: Session;
  let adaApi: ApiDriver;
  let graceApi: ApiDriver;

  beforeAll(async () => {
    scene = await TwoPeople.open();
    ({ ada, grace, adaApi, graceApi } = scene);
    await adaApi.signup('ada', PASSWORD);
    await graceApi.signup('grace', PASSWORD);
    await Promise.all([ada.page.goto('/'), grace.page.goto('/')]);
    await Promise.all([waitForLive(ada.page), waitForLive(grace.page)]);
  });

  afterAll(() => scene?.close());

  it('posts once on a double click', async () => {
    const content = 'Double-clicked by habit, posted once.';
    await ada.page.getByRole('textbox', { name: 'What is on your mind?' }).fill(content);
    await ada.page.getByRole('button', { name: 'Post', exact: true }).dblclick();
    await ada.page.locator('[data-testid="feed-list"] [data-testid="post-card"]', { hasText: content }).waitFor();
    // Positive control: the post exists, so a second one would be counted too.
    await eventually(async () => expect(await postsWithContent(ada, content)).toBe(1));
    await ada.page.waitForTimeout(500);
    expect(await postsWithContent(ada, content)).toBe(1);
    expect(await ada.page.locator('[data-testid="feed-list"] [data-testid="post-card"]', { hasText: content }).count()).toBe(1);
  });

  it('posts once when the answer was lost and the post is sent again', async () => {
    const content = 'The network dropped the answer; the retry did not post twice.';
    const keys: string[] = [];
    let dropped = false;
    await ada.page.route('**/api/posts/', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      keys.push(route.request().headers()['idempotency-key'] ?? '');
      if (dropped) return route.continue();
      dropped = true;
      // The server handles the create; the browser never hears back.
      await route.fetch();
      return route.abort('connectionreset');
    });
    await ada.page.getByRole('textbox', { name: 'What is on your mind?' }).fill(content);
    await ada.page.getByRole('button', { name: 'Post', exact: true }).click();
    await ada.page.getByRole('alert').filter({ hasText: /connection|reach/i }).waitFor();
    await eventually(async () => expect(await postsWithContent(ada, content)).toBe(1));

    await ada.page.getByRole('button', { name: 'Post', exact: true }).click();
    await ada.page.locator('[data-testid="feed-list"] [data-testid="post-card"]', { hasText: content }).waitFor();
    await ada.page.unroute('**/api/posts/');
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(await postsWithContent(ada, content)).toBe(1);
  });

  it('shows how many people have a thread open', async () => {
    const post = await graceApi.createPost('Who is reading along?');
    await Promise.all([ada.page.goto(`/posts/${post.id}`), grace.page.goto(`/posts/${post.id}`)]);
    await Promise.all([waitForLive(ada.page), waitForLive(grace.page)]);
    for (const page of [ada.page, grace.page]) {
      await eventually(async () => expect(((await page.getByTestId(`viewers-${post.id}`).textContent()) ?? '').trim()).toBe('2 here'));
    }
    // Leaving the app closes the socket (the feed page would follow the post too: still 2).
    await ada.page.goto('about:blank');
    await eventually(async () => expect(((await grace.page.getByTestId(`viewers-${post.id}`).textContent()) ?? '').trim()).toBe('1 here'));
  });

  it('deletes a comment: a placeholder in every open thread, replies kept', async () => {
    const post = await graceApi.createPost('A thread to tidy up.');
    const mine = await adaApi.comment(post.id, 'I will think better of this.');
    const reply = await graceApi.comment(post.id, 'A reply that stays.', mine.id);
    await Promise.all([ada.page.goto(`/posts/${post.id}`), grace.page.goto(`/posts/${post.id}`)]);
    await Promise.all([waitForLive(ada.page), waitForLive(grace.page)]);
    await grace.page.locator(`[data-comment-id="${reply.id}"]`).waitFor();
    // Only the author is offered the button.
    expect(await grace.page.locator(`[data-comment-id="${mine.id}"]`).getByRole('button', { name: 'Delete this comment' }).count()).toBe(0);

    const row = ada.page.locator(`[data-comment-id="${mine.id}"]`);
    await row.getByRole('button', { name: 'Delete this comment' }).click();
    await row.getByRole('button', { name: 'Yes, delete' }).click();
    await row.getByText('This comment was deleted.').waitFor();

    const graceRow = grace.page.locator(`[data-comment-id="${mine.id}"]`);
    await graceRow.getByText('This comment was deleted.').waitFor({ timeout: 10_000 });
    expect(await graceRow.getByText('I will think better of this.').count()).toBe(0);
    await grace.page.locator(`[data-comment-id="${reply.id}"]`).getByText('A reply that stays.').waitFor();
    await eventually(async () => expect(await grace.page.getByRole('heading', { name: '1 comment' }).count()).toBe(1));
  });

  it('deletes a post: it leaves every feed live, its URL shows the placeholder', async () => {
    const content = 'Posted in haste, deleted at leisure.';
    const post = await adaApi.createPost(content);
    await Promise.all([ada.page.goto('/'), grace.page.goto('/')]);
    await Promise.all([waitForLive(ada.page), waitForLive(grace.page)]);
    const graceCard = grace.page.locator(`[data-testid="feed-list"] [data-post-id="${post.id}"]`);
    await graceCard.waitFor();

    const card = ada.page.locator(`[data-testid="feed-list"] [data-post-id="${post.id}"]`);
    await card.getByRole('button', { name: 'Delete this post' }).click();
    await card.getByRole('button', { name: 'Yes, delete' }).click();
    await card.waitFor({ state: 'detached' });
    await graceCard.waitFor({ state: 'detached', timeout: 10_000 });
    expect(await postsWithContent(grace, content)).toBe(0);

    await grace.page.goto(`/posts/${post.id}`);
    await grace.page.getByText('This post was deleted.').waitFor();
  });

  it('comes back after 20 s offline with everything in place, by resume: no reload, no thread read', async () => {
    const post = await graceApi.createPost('Going through a tunnel, back in a moment.');
    const first = await adaApi.comment(post.id, 'Have a good trip.');
    const page = grace.page;
    await page.goto('/');
    await waitForLive(page);
    // Into the thread the way a reader goes: a click, no page load.
    await page.locator(`[data-testid="feed-list"] [data-post-id="${post.id}"]`).getByRole('link', { name: /open the thread/ }).click();
    await page.locator(`[data-comment-id="${first.id}"]`).waitFor();
    await waitForLive(page);
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

    const reads: string[] = [];
    const onRequest = (request: { method(): string; url(): string }) => {
      if (request.method() === 'GET') reads.push(new URL(request.url()).pathname);
    };
    page.on('request', onRequest);
    const sentFrames: string[] = [];
    page.on('websocket', (socket) => socket.on('framesent', (frame) => sentFrames.push(String(frame.payload))));

    await grace.context.setOffline(true);
    await page.evaluate(() => (window as unknown as { __socketControl: { dropAndBlock(): void } }).__socketControl.dropAndBlock());
    await eventually(async () => expect(['reconnecting', 'offline']).toContain(await page.getByTestId('connection-badge').getAttribute('data-status')), 5_000);

    const offlineSince = Date.now();
    const reply = await adaApi.comment(post.id, 'Posted while you were in the tunnel.', first.id);
    await adaApi.likePost(post.id);
    await adaApi.likeComment(first.id);
    const other = await adaApi.createPost('Meanwhile, in the feed.');
    await page.waitForTimeout(Math.max(0, 20_000 - (Date.now() - offlineSince)));
    expect(await page.locator(`[data-comment-id="${reply.id}"]`).count()).toBe(0);

    await page.evaluate(() => (window as unknown as { __socketControl: { allow(): void } }).__socketControl.allow());
    await grace.context.setOffline(false);
    await waitForLive(page, 30_000);

    await page.locator(`[data-comment-id="${reply.id}"]`).waitFor({ timeout: 15_000 });
    await eventually(async () => expect(((await page.getByTestId(`like-count-post-${post.id}`).textContent()) ?? '').trim()).toBe('1'));
    await eventually(async () => expect(((await page.getByTestId(`like-count-comment-${first.id}`).textContent()) ?? '').trim()).toBe('1'));
    expect(await page.getByRole('heading', { name: '2 comments' }).count()).toBe(1);

    // Back to the feed without a load: the post made meanwhile waits behind the pill.
    await page.getByRole('link', { name: '← Feed' }).click();
    await page.getByTestId('new-posts-pill').waitFor();
    await page.getByTestId('new-posts-pill').click();
    await page.locator(`[data-testid="feed-list"] [data-post-id="${other.id}"]`).waitFor();

    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    expect(sentFrames.some((frame) => frame.includes('"type":"resume"'))).toBe(true);
    expect(reads.filter((path) => path === `/api/posts/${post.id}/`)).toEqual([]);
    expect(reads.filter((path) => path === '/api/posts/')).toEqual([]);

    // Positive control: opening the thread again is a read, and this log sees it.
    await page.locator(`[data-testid="feed-list"] [data-post-id="${post.id}"]`).getByRole('link', { name: /open the thread/ }).click();
    await eventually(async () => expect(reads).toContain(`/api/posts/${post.id}/`));
    page.off('request', onRequest);
  }, 120_000);
});
