import { ApiError, errorFromBody } from './errors';
import type {
  Comment,
  Credentials,
  Leaderboard,
  LikeState,
  Page,
  Post,
  PostWithThread,
  User,
  UserProfile,
} from './types';

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function readCookie(name: string): string | null {
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

let csrfRequest: Promise<void> | null = null;

/** Makes sure the `csrftoken` cookie exists, asking the server once if it does not. */
async function ensureCsrfToken(): Promise<string | null> {
  const existing = readCookie('csrftoken');
  if (existing) return existing;
  csrfRequest ??= fetch('/api/auth/csrf/', { credentials: 'include' })
    .then(() => undefined)
    .finally(() => {
      csrfRequest = null;
    });
  await csrfRequest;
  return readCookie('csrftoken');
}

interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

async function parseBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (UNSAFE_METHODS.has(method)) {
    const token = await ensureCsrfToken();
    if (token) headers['X-CSRFToken'] = token;
  }
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'include',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  const body = await parseBody(response);
  if (!response.ok) throw errorFromBody(response.status, body, response.headers.get('Retry-After'));
  return body as T;
}

/** The cursor URL from the server may be absolute; keep only the path so it stays same-origin. */
export function toRelativeUrl(url: string): string {
  if (url.startsWith('/')) return url;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
}

export const api = {
  csrf: () => ensureCsrfToken(),

  me: async (signal?: AbortSignal): Promise<User | null> => {
    try {
      return await request<User>('/api/auth/me/', { signal });
    } catch (error) {
      if (error instanceof ApiError && error.isAuthError) return null;
      throw error;
    }
  },
  signup: (credentials: Credentials) =>
    request<User>('/api/auth/signup/', { method: 'POST', body: credentials }),
  login: (credentials: Credentials) =>
    request<User>('/api/auth/login/', { method: 'POST', body: credentials }),
  logout: () => request<null>('/api/auth/logout/', { method: 'POST' }),

  feedPage: (cursorUrl: string | null, signal?: AbortSignal) =>
    request<Page<Post>>(cursorUrl ? toRelativeUrl(cursorUrl) : '/api/posts/', { signal }),
  /** `idempotencyKey`: the same for every retry of one attempt, so a retry never posts twice. */
  createPost: (content: string, idempotencyKey: string) =>
    request<Post>('/api/posts/', { method: 'POST', body: { content }, headers: { 'Idempotency-Key': idempotencyKey } }),
  deletePost: (postId: number) => request<null>(`/api/posts/${postId}/`, { method: 'DELETE' }),
  thread: (postId: number, signal?: AbortSignal) =>
    request<PostWithThread>(`/api/posts/${postId}/`, { signal }),
  createComment: (postId: number, content: string, parentId: number | null, idempotencyKey: string) =>
    request<Comment>(`/api/posts/${postId}/comments/`, {
      method: 'POST',
      body: parentId === null ? { content } : { content, parent_id: parentId },
      headers: { 'Idempotency-Key': idempotencyKey },
    }),
  deleteComment: (commentId: number) => request<null>(`/api/comments/${commentId}/`, { method: 'DELETE' }),

  setPostLike: (postId: number, liked: boolean) =>
    request<LikeState>(`/api/posts/${postId}/like/`, { method: liked ? 'POST' : 'DELETE' }),
  setCommentLike: (commentId: number, liked: boolean) =>
    request<LikeState>(`/api/comments/${commentId}/like/`, { method: liked ? 'POST' : 'DELETE' }),

  leaderboard: (signal?: AbortSignal) => request<Leaderboard>('/api/leaderboard/', { signal }),
  profile: (username: string, signal?: AbortSignal) =>
    request<UserProfile>(`/api/users/${encodeURIComponent(username)}/`, { signal }),
};
