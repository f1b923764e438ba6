import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The console is served by the node under /ui/ (history-mode routing). The build is
// deterministic: the same sources give the same files, so CI can rebuild and compare.
export default defineConfig({
  base: '/ui/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    // dist/.vite/manifest.json: which chunks load first (scripts/budget.mjs reads it)
    manifest: true,
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      '/api': {
        target: process.env.ONEWALL_API ?? 'http://127.0.0.1:8080',
        changeOrigin: false,
      },
    },
  },
})
