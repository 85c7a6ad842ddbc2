import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { offlinePlugin } from './src/offline/offline-plugin.ts';

// Dawn in Node finds SwiftShader's Vulkan driver here when the machine has no GPU (Debian's chromium ships it).
const swiftshaderIcd = '/usr/lib/chromium/vk_swiftshader_icd.json';

export default defineConfig({
  plugins: [svelte(), offlinePlugin()],
  worker: { format: 'es' },
  server: { fs: { allow: ['.', '../shared'] } },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        extends: true,
        test: {
          name: 'gpu',
          include: ['test/gpu/**/*.test.ts'],
          setupFiles: ['test/gpu/setup.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          env: { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? swiftshaderIcd, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
