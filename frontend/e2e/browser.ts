import { chromium, type APIRequestContext, type Browser, type BrowserContext, type Page } from 'playwright-core';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Every test person's password: long and uncommon enough for the server's password rules. */
export const PASSWORD = 'quiet-harbour-lantern-42';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

/**
 * Runs in every page before the app: wraps WebSocket so a test can drop the
 * page's live connection and keep it away (new sockets go to a closed loopback
 * port) until it allows them again, the way a flaky network would.
 */
const SOCKET_CONTROL = `(() => {
  const NativeWebSocket = window.WebSocket;
  const sockets = [];
  let blocked = false;
  class ControlledWebSocket extends NativeWebSocket {
    constructor(url, protocols) {
      super(blocked ? 'ws://127.0.0.1:9/' : url, protocols);
      sockets.push(this);
    }
  }
  window.WebSocket = ControlledWebSocket;
  window.__socketControl = {
    dropAndBlock() {
      blocked = true;
      for (const socket of sockets) socket.close();
    },
    allow() {
      blocked = false;
    },
  };
})();`;

export interface Session {
  context: BrowserContext;
  page: Page;
  consoleErrors: string[];
}

export async function openSession(
  browser: Browser,
  baseUrl: string,
  viewport = { width: 1280, height: 900 },
): Promise<Session> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport, deviceScaleFactor: 1 });
  await context.addInitScript(SOCKET_CONTROL);
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  return { context, page, consoleErrors };
}

async function csrfHeaders(context: BrowserContext, request: APIRequestContext): Promise<Record<string, string>> {
  let token = (await context.cookies()).find((cookie) => cookie.name === 'csrftoken')?.value;
  if (!token) {
    await request.get('/api/auth/csrf/');
    token = (await context.cookies()).find((cookie) => cookie.name === 'csrftoken')?.value;
  }
  if (!token) throw new Error('GET /api/auth/csrf/ did not set the csrftoken cookie');
  return { 'X-CSRFToken': token, 'Content-Type': 'application/json' };
}

/** The REST contract driven with the context's own cookies, for setting the scene quickly. */
export class ApiDriver {
  constructor(private readonly context: BrowserContext) {}

  private async send<T>(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const request = this.context.request;
    const headers = await csrfHeaders(this.context, request);
    const response = await request.fetch(path, { method, headers, data: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok()) throw new Error(`${method} ${path} answered ${response.status()}: ${await response.text()}`);
    const text = await response.text();
    return (text ? JSON.parse(text) : null) as T;
  }

  signup(username: string, password = PASSWORD) {
    return this.send<{ id: number; username: string }>('POST', '/api/auth/signup/', { username, password });
  }

  createPost(content: string) {
    return this.send<{ id: number }>('POST', '/api/posts/', { content });
  }

  comment(postId: number, content: string, parentId: number | null = null) {
    return this.send<{ id: number }>('POST', `/api/posts/${postId}/comments/`, parentId === null ? { content } : { content, parent_id: parentId });
  }

  likePost(postId: number) {
    return this.send<{ liked: boolean; like_count: number }>('POST', `/api/posts/${postId}/like/`);
  }

  likeComment(commentId: number) {
    return this.send<{ liked: boolean; like_count: number }>('POST', `/api/comments/${commentId}/like/`);
  }
}
