import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// The Django/ASGI server in development; another port can be named for a second checkout.
const backend = process.env.KARMAFEED_BACKEND_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  base: '/',
  plugins: [react(), tailwindcss()],
  server: {
    host: '127.0.0.1',
    proxy: {
      // Keep the browser's Host header: Django compares it with Origin for CSRF and the
      // websocket origin check, and both then see the dev server's own address.
      '/api': { target: backend, changeOrigin: false },
      '/ws': { target: backend, ws: true },
    },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    // Screen tests render the whole app; a shared CI machine may be slow to do it.
    testTimeout: 20_000,
  },
});
