// Builds the renderer into build/renderer with relative asset URLs, so the same files load from
// file:// in Electron and from the web-mode server.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { resolve } from 'node:path';

const here = import.meta.dirname;

export default defineConfig({
  root: here,
  base: './',
  plugins: [react()],
  build: {
    outDir: resolve(here, '../../build/renderer'),
    emptyOutDir: true,
    sourcemap: true,
    // the CSP forbids inline scripts; keep everything in files
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    // xterm is most of the bundle; it loads from disk or loopback, so one chunk is fine
    chunkSizeWarningLimit: 1500,
  },
  server: { fs: { allow: [resolve(here, '..')] } },
});
