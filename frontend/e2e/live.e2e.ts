import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactsDir, type Backend } from './backend';
import { ApiDriver, openSession, PASSWORD, type Session } from './browser';
import { eventually, TwoPeople, waitForLive } from './scene';

async function text(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).first().textContent({ timeout: 5_000 })) ?? '').trim();
}

function badge(page: Page) {
  return page.getByTestId('connection-badge');
}

async function commentOrder(page: Page): Promise<{ id: number; parent: number | null }[]> {
  return page.locator('[data-testid="comment"]').evaluateAll((nodes) =>
    nodes.map((node) => {
      const element = node as HTMLElement;
      return { id: Number(element.dataset.commentId), parent: element.dataset.parentId ? Number(element.dataset.parentId) : null };
    }),
  );
}

describe('KarmaFeed in a real browser against the real backend', () => {
  let scene: TwoPeople;
  let backend: Backend;
  let browser: Browser;
  let ada: Session;
  let grace: Session;
  let adaApi: ApiDriver;
  let graceApi: ApiDriver;
  let gracePostId = 0;
  let adaPostId = 0;

  beforeAll(async () => {
    scene = await TwoPeople.open();
    ({ backend, browser, ada, grace, adaApi, graceApi } = scene);
  });

  afterAll(() => scene?.close());

  it('signs up through the page, and the header shows who is logged in', async () => {
    await ada.page.goto('/');
    await waitForLive(ada.page);
    await ada.page.getByRole('button', { name: 'Sign up' }).click();
    const dialog = ada.page.getByRole('dialog');
    await dialog.getByLabel('Username').fill('ada');
    await dialog.getByLabel('Password').fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Sign up' }).click();
    await ada.page.getByTestId('current-user').waitFor();
    expect(await ada.page.getByTestId('current-user').getAttribute('aria-label')).toContain('ada');

    await graceApi.signup('grace', PASSWORD);
    await grace.page.goto('/');
    await grace.page.getByTestId('current-user').waitFor();
    await waitForLive(grace.page);
  });

  it('shows the author’s post at once and offers it to others behind the pill', async () => {
    await ada.page.getByRole('textbox', { name: 'What is on your mind?' }).fill('Morning all. What are you reading this week?');
    await ada.page.getByRole('button', { name: 'Post', exact: true }).click();
    const first = ada.page.locator('[data-testid="feed-list"] [data-testid="post-card"]').first();
    await eventually(async () => expect(await first.textContent()).toContain('What are you reading this week?'));
    adaPostId = Number(await first.getAttribute('data-post-id'));
    expect(adaPostId).toBeGreaterThan(0);

    const pill = grace.page.getByTestId('new-posts-pill');
    await pill.waitFor({ timeout: 10_000 });
    expect(await pill.textContent()).toContain('1 new post');
    expect(await grace.page.locator(`[data-post-id="${adaPostId}"]`).count()).toBe(0);
    await pill.click();
    await grace.page.locator(`[data-post-id="${adaPostId}"]`).waitFor();
  });

  it('moves B’s like count when A likes, without a reload', async () => {
    const created = await graceApi.createPost('Finished “The Dispossessed” last night. Still thinking about it.');
    gracePostId = created.id;
    await ada.page.getByTestId('new-posts-pill').click();
    await grace.page.locator(`[data-post-id="${gracePostId}"]`).waitFor({ timeout: 10_000 });
    // Let the socket follow the card that just appeared before the like happens.
    await grace.page.waitForTimeout(500);

    await ada.page.getByTestId(`like-post-${gracePostId}`).click();
    expect(await text(ada.page, `[data-testid="like-count-post-${gracePostId}"]`)).toBe('1');
    await eventually(async () => expect(await text(grace.page, `[data-testid="like-count-post-${gracePostId}"]`)).toBe('1'));
    expect(await ada.page.getByTestId(`like-post-${gracePostId}`).getAttribute('aria-pressed')).toBe('true');
  });

  it('moves the leaderboard in B when A likes B’s post', async () => {
    const entry = grace.page.locator('[data-testid="leaderboard"] [data-username="grace"] [data-testid="leaderboard-karma"]');
    await eventually(async () => expect(((await entry.textContent()) ?? '').trim()).toBe('5'));

    const comment = await graceApi.comment(adaPostId, 'Rereading Middlemarch, slowly.');
    await adaApi.likeComment(comment.id);
    await eventually(async () => expect(((await entry.textContent()) ?? '').trim()).toBe('6'));
  });

  it('puts A’s comment in its place in B’s open thread', async () => {
    const root = await graceApi.comment(gracePostId, 'The ending surprised me.');
    const laterRoot = await graceApi.comment(gracePostId, 'Anyone up for a reading group?');
    await Promise.all([ada.page.goto(`/posts/${gracePostId}`), grace.page.goto(`/posts/${gracePostId}`)]);
    await Promise.all([waitForLive(ada.page), waitForLive(grace.page)]);
    await grace.page.locator(`[data-comment-id="${laterRoot.id}"]`).waitFor();

    await ada.page.getByRole('button', { name: 'Reply to grace' }).first().click();
    await ada.page.getByRole('textbox', { name: 'Reply to grace' }).fill('Same here, the last chapter especially.');
    await ada.page.getByRole('button', { name: 'Reply', exact: true }).click();

    await eventually(async () => {
      const order = await commentOrder(grace.page);
      const rootIndex = order.findIndex((row) => row.id === root.id);
      const reply = order[rootIndex + 1];
      expect(reply?.parent).toBe(root.id);
      expect(order[rootIndex + 2]?.id).toBe(laterRoot.id);
    });
    const replyText = await grace.page.locator('[data-testid="comment"]').nth(1).textContent();
    expect(replyText).toContain('the last chapter especially');
    expect(await grace.page.getByRole('heading', { name: '3 comments' }).count()).toBe(1);
  });

  it('lets B converge after its socket was dropped while A acted', async () => {
    await grace.page.evaluate(() => (window as unknown as { __socketControl: { dropAndBlock(): void } }).__socketControl.dropAndBlock());
    await eventually(async () => expect(['reconnecting', 'offline']).toContain(await badge(grace.page).getAttribute('data-status')), 5_000);

    const rootComment = (await commentOrder(ada.page))[0];
    if (!rootComment) throw new Error('the thread has no comment');
    await adaApi.likeComment(rootComment.id);
    const missed = await adaApi.comment(gracePostId, 'Posted while you were away.', rootComment.id);
    // Ada liked this post earlier; Grace's own like makes two.
    await graceApi.likePost(gracePostId);
    await eventually(async () => expect(await text(ada.page, `[data-testid="like-count-post-${gracePostId}"]`)).toBe('2'));
    expect(await grace.page.locator(`[data-comment-id="${missed.id}"]`).count()).toBe(0);

    await grace.page.evaluate(() => (window as unknown as { __socketControl: { allow(): void } }).__socketControl.allow());
    await waitForLive(grace.page, 30_000);
    await eventually(async () => expect(await text(grace.page, `[data-testid="like-count-post-${gracePostId}"]`)).toBe('2'));
    await eventually(async () => expect(await text(grace.page, `[data-testid="like-count-comment-${rootComment.id}"]`)).toBe('1'));
    await grace.page.locator(`[data-comment-id="${missed.id}"]`).waitFor({ timeout: 10_000 });
    expect(await grace.page.getByRole('heading', { name: '4 comments' }).count()).toBe(1);
  });

  it('reconnects both pages after a server restart and keeps them live', async () => {
    await backend.stop();
    for (const page of [ada.page, grace.page]) {
      await eventually(async () => expect(['reconnecting', 'offline']).toContain(await badge(page).getAttribute('data-status')));
    }
    await backend.launch();
    await Promise.all([waitForLive(ada.page, 45_000), waitForLive(grace.page, 45_000)]);

    const countSelector = `[data-testid="like-count-post-${gracePostId}"]`;
    const before = Number(await text(grace.page, countSelector));
    const wasLiked = (await ada.page.getByTestId(`like-post-${gracePostId}`).getAttribute('aria-pressed')) === 'true';
    await ada.page.getByTestId(`like-post-${gracePostId}`).click();
    const expected = wasLiked ? before - 1 : before + 1;
    await eventually(async () => expect(await text(grace.page, countSelector)).toBe(String(expected)));
    await eventually(async () => expect(await text(ada.page, countSelector)).toBe(String(expected)));
  }, 150_000);

  it('loads every page directly from its URL', async () => {
    for (const path of ['/', `/posts/${gracePostId}`, '/users/grace']) {
      const response = await grace.page.goto(path);
      expect(response?.status()).toBe(200);
    }
    const profile = (await (await grace.context.request.get('/api/users/grace/')).json()) as {
      karma_24h: number;
      karma_total: number;
    };
    await eventually(async () => expect(await text(grace.page, '[data-testid="karma-24h"]')).toBe(String(profile.karma_24h)));
    expect(await text(grace.page, '[data-testid="karma-total"]')).toBe(String(profile.karma_total));
    expect(profile.karma_total).toBeGreaterThan(0);
  });

  it('scrolls the feed past the first page over the cursor', async () => {
    for (let index = 0; index < 24; index += 1) await adaApi.createPost(`Note ${index + 1} of a busy afternoon.`);
    await grace.page.goto('/');
    await grace.page.locator('[data-testid="post-card"]').first().waitFor();
    const cards = grace.page.locator('[data-testid="feed-list"] [data-testid="post-card"]');
    const total = (await (await grace.context.request.get('/api/posts/?page_size=100')).json()) as { results: unknown[] };
    await eventually(async () => {
      await grace.page.mouse.wheel(0, 4000);
      expect(await cards.count()).toBe(total.results.length);
    }, 20_000);
    expect(total.results.length).toBeGreaterThan(20);
    await grace.page.getByText('You are all caught up.').waitFor();
    const ids = await cards.evaluateAll((nodes) => nodes.map((node) => Number((node as HTMLElement).dataset.postId)));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
  });

  it('continues a deep thread on its own page and collapses by keyboard', async () => {
    const post = await graceApi.createPost('A long chain, to see how deep threads read.');
    let parent: number | null = null;
    const ids: number[] = [];
    for (let level = 0; level < 12; level += 1) {
      const api = level % 2 === 0 ? graceApi : adaApi;
      parent = (await api.comment(post.id, `Level ${level}`, parent)).id;
      ids.push(parent);
    }
    await grace.page.goto(`/posts/${post.id}`);
    await grace.page.locator('[data-testid="comment"]').first().waitFor();
    expect(await grace.page.locator('[data-testid="comment"]').count()).toBe(6);

    await grace.page.getByRole('link', { name: /Continue this thread \(6 more replies\)/ }).click();
    await grace.page.waitForURL(`**/posts/${post.id}?comment=${ids[5]}`);
    await grace.page.getByText('You are reading a single branch').waitFor();
    expect((await commentOrder(grace.page)).map((row) => row.id)).toEqual(ids.slice(5, 11));
    expect(await grace.page.getByRole('link', { name: '↑ Parent comment' }).getAttribute('href')).toBe(
      `/posts/${post.id}?comment=${ids[4]}`,
    );

    // The focused comment (level 5) is Ada's; collapsing it hides its whole branch.
    await grace.page.getByRole('button', { name: 'Collapse the comment by ada and its replies' }).first().focus();
    await grace.page.keyboard.press('Enter');
    expect(await grace.page.locator('[data-testid="comment"]').count()).toBe(1);
    await grace.page.getByRole('button', { name: /Expand the comment by ada and 6 replies/ }).waitFor();
  });

  it('writes screenshots of the feed and a thread at desktop and phone width', async () => {
    await seedConversation(backend, browser);
    mkdirSync(artifactsDir, { recursive: true });
    const shots: Record<string, string> = {};
    for (const [label, viewport] of [
      ['desktop', { width: 1280, height: 900 }],
      ['phone', { width: 390, height: 844 }],
    ] as const) {
      const viewer = await openSession(browser, backend.baseUrl, viewport);
      await new ApiDriver(viewer.context).signup(`reader_${label}`, PASSWORD);
      await viewer.page.goto('/');
      await waitForLive(viewer.page);
      await viewer.page.locator('[data-testid="post-card"]').first().waitFor();
      await viewer.page.waitForTimeout(300);
      shots[`feed-${label}`] = resolve(artifactsDir, `feed-${label}.png`);
      await viewer.page.screenshot({ path: shots[`feed-${label}`] });

      await viewer.page.goto(`/posts/${seededThreadPostId}`);
      await waitForLive(viewer.page);
      await viewer.page.locator('[data-testid="comment"]').first().waitFor();
      // On a phone the interesting part is the nesting further down, under the sticky header.
      if (label === 'phone') await viewer.page.evaluate(() => window.scrollTo(0, 420));
      await viewer.page.waitForTimeout(300);
      shots[`thread-${label}`] = resolve(artifactsDir, `thread-${label}.png`);
      await viewer.page.screenshot({ path: shots[`thread-${label}`], fullPage: label === 'desktop' });
      await viewer.context.close();
    }
    for (const name of ['feed-desktop', 'thread-desktop']) {
      expect(statSync(shots[name] as string).size).toBeLessThan(300 * 1024);
    }
    // The README's pictures change only on purpose (`make screenshots` names their folder);
    // every other run leaves them, and the git tree, as they were.
    const readmeDir = process.env.README_SCREENSHOTS_DIR;
    if (readmeDir) {
      mkdirSync(readmeDir, { recursive: true });
      copyFileSync(shots['feed-desktop'] as string, resolve(readmeDir, 'feed.png'));
      copyFileSync(shots['thread-desktop'] as string, resolve(readmeDir, 'thread.png'));
    }
    // Four page loads after seeding a conversation: the slowest test here, on a busy machine too.
  }, 120_000);
});

let seededThreadPostId = 0;

/** A few people, posts and a branching, deep thread, so the screenshots show a lived-in feed. */
async function seedConversation(backend: Backend, browser: Browser): Promise<void> {
  const people = ['lin', 'marco', 'sofia', 'tomas'];
  const drivers: Record<string, ApiDriver> = {};
  const sessions: Session[] = [];
  for (const name of people) {
    const session = await openSession(browser, backend.baseUrl);
    sessions.push(session);
    drivers[name] = new ApiDriver(session.context);
    await drivers[name].signup(name, PASSWORD);
  }
  const [lin, marco, sofia, tomas] = people.map((name) => drivers[name] as ApiDriver) as [ApiDriver, ApiDriver, ApiDriver, ApiDriver];

  const garden = await sofia.createPost(
    'The community garden on Elm Street has space for four more beds this spring. Tools are shared, seeds are swapped on Saturdays. Drop a comment if you want one.',
  );
  const bikes = await marco.createPost('Small win: fixed my bike’s brakes with a video and a borrowed hex key. Feels good to mend things.');
  const thread = await lin.createPost(
    'Question for the night owls: what is the best thing you learned this year that you did not expect to learn?',
  );
  seededThreadPostId = thread.id;

  const c1 = await marco.comment(thread.id, 'How to bake sourdough. Mostly patience, it turns out.');
  const c2 = await sofia.comment(thread.id, 'That a starter needs feeding twice a day. I have a new pet.', c1.id);
  const c3 = await marco.comment(thread.id, 'Mine is called Doughvid. He is thriving.', c2.id);
  const c4 = await tomas.comment(thread.id, 'Okay, this is the best name I have heard all year.', c3.id);
  let parent = c4.id;
  const chain = [
    'Thank you, I will be here all week.',
    'Do you share the starter? Asking for a friend.',
    'Of course, bring a jar on Saturday.',
    'See you at the garden then!',
  ];
  for (const [index, line] of chain.entries()) {
    const author = [marco, sofia, marco, tomas][index] as ApiDriver;
    parent = (await author.comment(thread.id, line, parent)).id;
  }
  const c5 = await tomas.comment(thread.id, 'Touch typing. Ten minutes a day for a month and it stuck.');
  await lin.comment(thread.id, 'This is on my list for next year.', c5.id);
  await sofia.comment(thread.id, 'Birdsong. I can tell a blackbird from a robin now.');

  await lin.likePost(garden.id);
  await marco.likePost(garden.id);
  await tomas.likePost(garden.id);
  await sofia.likePost(bikes.id);
  await tomas.likePost(thread.id);
  await sofia.likePost(thread.id);
  await lin.likeComment(c1.id);
  await tomas.likeComment(c1.id);
  await lin.likeComment(c3.id);
  await marco.likeComment(c5.id);
  for (const session of sessions) await session.context.close();
}
