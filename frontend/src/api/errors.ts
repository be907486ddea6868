/**
 * Turns a failed response into a message a person can read.
 *
 * The backend follows Django REST framework: either `{"detail": "..."}` or
 * `{"field": ["message", ...]}`. Field errors keep their field name so the
 * form can show them next to the right input.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly fieldErrors: Record<string, string[]>;
  readonly retryAfterSeconds: number | null;

  constructor(
    status: number,
    message: string,
    fieldErrors: Record<string, string[]> = {},
    retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.fieldErrors = fieldErrors;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  get isAuthError(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

const FIELD_LABELS: Record<string, string> = {
  username: 'Username',
  password: 'Password',
  content: 'Text',
  parent_id: 'Reply',
};

function humanField(field: string): string {
  return FIELD_LABELS[field] ?? field.replace(/_/g, ' ');
}

function asStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

function fallbackMessage(status: number): string {
  if (status === 401 || status === 403) return 'Please log in to do that.';
  if (status === 404) return 'That could not be found.';
  if (status === 429) return 'Too many requests. Please slow down a little.';
  if (status === 503) return 'The service is briefly unavailable. Please try again.';
  if (status >= 500) return 'Something went wrong on our side. Please try again.';
  return 'The request could not be completed.';
}

export function errorFromBody(status: number, body: unknown, retryAfter: string | null = null): ApiError {
  const retryAfterSeconds = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : null;
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    const detail = asStrings(record.detail);
    const fieldErrors: Record<string, string[]> = {};
    for (const [key, value] of Object.entries(record)) {
      if (key === 'detail') continue;
      const messages = asStrings(value);
      if (messages.length > 0) fieldErrors[key] = messages;
    }
    const parts = [...detail];
    for (const [field, messages] of Object.entries(fieldErrors)) {
      parts.push(field === 'non_field_errors' ? messages.join(' ') : `${humanField(field)}: ${messages.join(' ')}`);
    }
    if (parts.length > 0) return new ApiError(status, parts.join(' '), fieldErrors, retryAfterSeconds);
  }
  if (Array.isArray(body)) {
    const messages = asStrings(body);
    if (messages.length > 0) return new ApiError(status, messages.join(' '), {}, retryAfterSeconds);
  }
  return new ApiError(status, fallbackMessage(status), {}, retryAfterSeconds);
}

/** A readable message for anything thrown by a request, including network failures. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return 'Could not reach the server. Check your connection.';
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong.';
}
