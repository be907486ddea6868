import { describe, expect, it } from 'vitest';
import { codePointLength, newIdempotencyKey } from './text';

describe('codePointLength', () => {
  it('counts code points as the server does, not UTF-16 units', () => {
    expect(codePointLength('abc')).toBe(3);
    expect('😀'.length).toBe(2);
    expect(codePointLength('😀')).toBe(1);
    expect(codePointLength('😀'.repeat(6_000))).toBe(6_000);
    expect(codePointLength('é🇫🇷x')).toBe(4);
  });

  it('counts a lone surrogate as one', () => {
    expect(codePointLength('\ud83d')).toBe(1);
    expect(codePointLength('a\ude00b')).toBe(3);
  });
});

describe('newIdempotencyKey', () => {
  it('is printable ASCII within the header limit and new each time', () => {
    const key = newIdempotencyKey();
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(newIdempotencyKey()).not.toBe(key);
  });
});
