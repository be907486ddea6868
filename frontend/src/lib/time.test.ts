import { describe, expect, it } from 'vitest';
import { formatRelative, pluralize } from './time';

const now = Date.parse('2026-11-22T12:00:00Z');
const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();

describe('formatRelative', () => {
  it.each([
    [10, 'just now'],
    [90, '2 min ago'],
    [3 * 60, '3 min ago'],
    [59 * 60, '59 min ago'],
    [2 * 3600, '2 h ago'],
    [26 * 3600, 'yesterday'],
    [3 * 86400, '3 days ago'],
  ])('%i seconds ago reads "%s"', (seconds, expected) => {
    expect(formatRelative(ago(seconds), now)).toBe(expected);
  });

  it('treats a clock slightly ahead of ours as now', () => {
    expect(formatRelative(new Date(now + 5000).toISOString(), now)).toBe('just now');
  });

  it('falls back to a date after a week', () => {
    expect(formatRelative(ago(30 * 86400), now)).toMatch(/Oct|10/);
  });

  it('gives nothing for a broken timestamp', () => {
    expect(formatRelative('not a date', now)).toBe('');
  });
});

describe('pluralize', () => {
  it('picks the right form', () => {
    expect(pluralize(1, 'reply', 'replies')).toBe('1 reply');
    expect(pluralize(3, 'comment')).toBe('3 comments');
  });
});
