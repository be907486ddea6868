import { render, waitFor } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import { expect, vi } from 'vitest';
import { AppShell } from '../App';
import type { WebSocketLike } from '../realtime/LiveSocket';

/** `raw` is sent as is: JSON.stringify cannot encode a 10,000-deep thread, JSON.parse can read one. */
type Answer = { status?: number; body?: unknown; raw?: string };
type Handler = (init: RequestInit | undefined, url: URL) => Answer | Promise<Answer>;

/** Answers fetch calls from a table of "METHOD /path/" handlers; anything else is a 404. */
export function mockFetch(routes: Record<string, Handler>) {
  const calls: { method: string; path: string; body: unknown; headers: Record<string, string> }[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://127.0.0.1');
    const method = init?.method ?? 'GET';
    calls.push({
      method,
      path: url.pathname,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
      headers: (init?.headers ?? {}) as Record<string, string>,
    });
    const handler = routes[`${method} ${url.pathname}`];
    if (!handler) return new Response(JSON.stringify({ detail: 'Not found.' }), { status: 404 });
    const answer = await handler(init, url);
    const status = answer.status ?? 200;
    const text = answer.raw ?? (answer.body === undefined ? null : JSON.stringify(answer.body));
    return new Response(text, { status });
  });
  vi.stubGlobal('fetch', fetchMock);
  return { fetchMock, calls };
}

/** The app's socket once it has made one: the app opens it in an effect, which may run after
 * the first thing a test waits for is on screen, and a test must not script a socket that is
 * not there yet. */
export async function scriptedSocket(): Promise<ScriptedSocket> {
  await waitFor(() => expect(ScriptedSocket.current).not.toBeNull());
  return ScriptedSocket.current as ScriptedSocket;
}

/** A socket the test talks through as if it were the server. */
export class ScriptedSocket implements WebSocketLike {
  static current: ScriptedSocket | null = null;
  readyState = 0;
  sent: unknown[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;

  constructor() {
    ScriptedSocket.current = this;
  }

  send(data: string) {
    this.sent.push(JSON.parse(data));
  }

  close() {
    this.readyState = 3;
  }

  open() {
    this.readyState = 1;
    this.onopen?.({});
  }

  push(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  drop() {
    this.readyState = 3;
    this.onclose?.({});
  }
}

export function renderApp(path: string) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <AppShell socketOptions={{ url: 'ws://127.0.0.1/ws/', createSocket: () => new ScriptedSocket() }} />
    </MemoryRouter>,
  );
}
