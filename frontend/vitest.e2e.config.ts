import { defineConfig } from 'vitest/config';

// Browser tests against the real backend: one file, one server, run in order.
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 240_000,
    reporters: ['verbose'],
  },
});
