// Browser tests against the built app: dist/ (built by `npm run test:e2e`) served by Vite's preview server on
// 127.0.0.1, Debian's chromium on SwiftShader's WebGPU, a fresh profile per test file, and every console error,
// console warning and uncaught page error collected so a test can assert there were none (close() fails on any
// warning).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { preview } from 'vite';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const fixtures = path.join(repoRoot, 'test/fixtures');

const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface Studio {
  /** The app's origin, e.g. http://127.0.0.1:41234/ */
  url: string;
  page: Page;
  context: BrowserContext;
  /** Console errors (page and workers) and uncaught exceptions, in order. */
  errors: string[];
  /** Console warnings (page and workers), in order. */
  warnings: string[];
  /** Stops the app's server (the offline test); close() still cleans up. */
  stopServer(): Promise<void>;
  /** Opens a route, e.g. "playground", and waits for the app to render it. */
  open(route?: string): Promise<void>;
  close(): Promise<void>;
}

export async function openStudio(): Promise<Studio> {
  const dist = path.join(repoRoot, 'dist');
  if (!existsSync(path.join(dist, 'index.html'))) {
    throw new Error('dist/ has no build: run the browser tests with `npm run test:e2e`, which builds the app first.');
  }
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: install Debian's chromium package (apt-get install chromium), or run .ci/run.`);
  }
  const server = await preview({
    root: repoRoot,
    logLevel: 'silent',
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const { port } = server.httpServer.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/`;
  const profile = await mkdtemp(path.join(tmpdir(), 'studio-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
  });
  const errors: string[] = [];
  const warnings: string[] = [];
  // A page's console events include those of its workers.
  const watch = (page: Page) => {
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
      if (message.type() === 'warning') warnings.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  let serverStopped: Promise<void> | null = null;

  return {
    url,
    page,
    context,
    errors,
    warnings,
    async open(route = 'playground') {
      await page.goto(`${url}#/${route}`);
      await page.getByRole('navigation', { name: 'Pipeline' }).waitFor();
    },
    async stopServer() {
      serverStopped ??= server.close();
      await serverStopped;
    },
    // Every test file closes its studio, so no page of the suite may log a warning and pass.
    async close() {
      await context.close();
      await (serverStopped ?? server.close());
      await rm(profile, { recursive: true, force: true });
      if (warnings.length) throw new Error(`the studio logged ${warnings.length} console warning(s):\n${warnings.join('\n')}`);
    },
  };
}
