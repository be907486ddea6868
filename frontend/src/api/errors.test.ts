import { describe, expect, it } from 'vitest';
import { ApiError, describeError, errorFromBody } from './errors';
import { toRelativeUrl } from './client';

describe('errorFromBody', () => {
  it('reads a detail message', () => {
    expect(errorFromBody(403, { detail: 'CSRF Failed: token missing.' }).message).toBe('CSRF Failed: token missing.');
  });

  it('names fields and keeps them for the form', () => {
    const error = errorFromBody(400, { username: ['Taken.'], password: ['Too short.', 'Too common.'] });
    expect(error.message).toBe('Username: Taken. Password: Too short. Too common.');
    expect(error.fieldErrors.password).toEqual(['Too short.', 'Too common.']);
  });

  it('does not prefix non-field errors', () => {
    expect(errorFromBody(400, { non_field_errors: ['Bad pair.'] }).message).toBe('Bad pair.');
  });

  it('falls back to a sentence by status and keeps Retry-After', () => {
    const error = errorFromBody(429, null, '12');
    expect(error.message).toMatch(/Too many requests/);
    expect(error.retryAfterSeconds).toBe(12);
    expect(errorFromBody(502, '<html>').message).toMatch(/our side/);
  });

  it('describes network failures', () => {
    expect(describeError(new TypeError('Failed to fetch'))).toMatch(/Could not reach the server/);
    expect(describeError(new ApiError(404, 'Gone.'))).toBe('Gone.');
  });
});

describe('toRelativeUrl', () => {
  it('keeps the path and query of an absolute cursor URL', () => {
    expect(toRelativeUrl('http://example.test:8000/api/posts/?cursor=abc&page_size=20')).toBe(
      '/api/posts/?cursor=abc&page_size=20',
    );
    expect(toRelativeUrl('/api/posts/?cursor=x')).toBe('/api/posts/?cursor=x');
  });
});
