// The studio offline: after the first load the service worker holds the whole build, so with the server stopped
// every page still opens on a reload, a dataset stored before is there, and a model cached before loads without
// the Hub. A new build served from the same address is downloaded in the background
// while the page is open, announced, and applied on the next load with a notice.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { routes } from '../../src/app/routes';
import { UPDATED_NOTICE, UPDATE_WAITING_NOTICE } from '../../src/app/state/offline.svelte';
import { startHubServer, type HubServer } from '../fakes/hub-server';
import { openStudio, repoRoot, type Studio } from './harness';
import { stories260K } from './ui';

const repo = 'tiny-stories/stories260K';

describe('offline after the first load', () => {
  let studio: Studio;
  let hub: HubServer;
  let hubStopped: Promise<void> | null = null;
  let newBuild: Server | null = null;

  beforeAll(async () => {
    hub = await startHubServer({ repos: { [repo]: path.resolve(stories260K) } });
    studio = await openStudio();
  });

  afterAll(async () => {
    await new Promise((resolve) => (newBuild ? newBuild.close(resolve) : resolve(null)));
    await studio?.close();
    await (hubStopped ?? hub?.close());
  });

  const mainRendered = async (route: string) => {
    await studio.page.getByRole('navigation', { name: 'Pipeline' }).waitFor();
    await studio.page.locator(`nav a[aria-current="page"][href="#/${route}"]`).waitFor();
    // Each page's own chunk must have loaded: main holds more than the "could not open" alert.
    await studio.page.waitForFunction(() => (document.querySelector('main')?.children.length ?? 0) > 0);
    expect(await studio.page.locator('main [role="alert"]', { hasText: 'Could not open this page' }).count()).toBe(0);
  };

  test('the first load keeps the app; with the servers stopped every page opens on a reload, with its data and cached model', async () => {
    const { page } = studio;
    await studio.open('datasets');
    await page.getByTestId('offline-status').filter({ hasText: 'available offline' }).waitFor({ timeout: 60_000 });
    expect(await page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);

    // While online: a dataset goes into IndexedDB and a model from the Hub into Cache Storage.
    await page.getByLabel('Dataset file').setInputFiles({ name: 'offline-rows.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify([{ instruction: 'Say hi.', input: '', output: 'Hi.' }])) });
    await page.getByRole('status').filter({ hasText: 'Imported 1 row' }).waitFor();
    await studio.open('playground');
    await page.getByLabel('Hugging Face model id').fill(repo);
    await page.getByLabel('Endpoint').fill(hub.url);
    await page.getByRole('button', { name: 'Load from Hub' }).click();
    await page.getByRole('status').filter({ hasText: `Downloaded ${repo}` }).waitFor({ timeout: 120_000 });

    await studio.stopServer();
    await (hubStopped = hub.close());
    for (const url of [studio.url, hub.url]) expect(await fetch(url).then(() => 'up', () => 'down')).toBe('down');
    for (const route of routes) {
      await page.goto(`${studio.url}#/${route.path}`);
      await page.reload();
      await mainRendered(route.path);
    }
    await page.goto(`${studio.url}#/datasets`);
    await page.getByText('offline-rows').first().waitFor();
    await page.goto(`${studio.url}#/playground`);
    await page.getByRole('button', { name: 'Load from Hub' }).click();
    await page.getByRole('status').filter({ hasText: new RegExp(`Loaded ${repo} from the browser cache .*nothing downloaded`) }).waitFor({ timeout: 120_000 });
    expect(studio.errors).toEqual([]);
  });

  test('a new build at the same address is announced, then applied on the next load with a notice', async () => {
    const dist = path.join(repoRoot, 'dist');
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
    // The same files under a new version (sw.js and index.html's build meta): a redeploy, as the browser sees it.
    const bump = (text: string) => text.replace(/const VERSION = '([0-9a-f]+)'/, "const VERSION = '$1-next'").replace(/(name="studio-build" content=")([0-9a-f]+)"/, '$1$2-next"');
    newBuild = createServer(async (req, res) => {
      const pathname = new URL(req.url ?? '/', studio.url).pathname;
      const file = path.join(dist, pathname === '/' ? 'index.html' : pathname);
      try {
        let body: Buffer | string = await readFile(file);
        if (pathname === '/sw.js' || file.endsWith('index.html')) body = bump(body.toString());
        res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    const { port } = new URL(studio.url);
    await new Promise<void>((resolve) => newBuild!.listen(Number(port), '127.0.0.1', resolve));

    const { page, context } = studio;
    await page.goto(`${studio.url}#/workshop`);
    // The browser looks for a new sw.js on navigations and now and then while a page is open; ask it now.
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.update());
    await page.getByTestId('update-notice').filter({ hasText: UPDATE_WAITING_NOTICE }).waitFor({ timeout: 60_000 });
    expect(await page.getByRole('navigation', { name: 'Pipeline' }).isVisible()).toBe(true);

    // Next time the studio is opened: the new build, with a notice. (Its worker takes over once the old page is
    // gone, which can take the browser a moment.)
    await page.close();
    const next = await context.newPage();
    let updated = false;
    for (let attempt = 0; attempt < 10 && !updated; attempt++) {
      await next.goto(`${studio.url}#/workshop`);
      updated = await next.getByTestId('update-notice').filter({ hasText: UPDATED_NOTICE }).waitFor({ timeout: 5_000 }).then(() => true, () => false);
      if (!updated) await next.goto('about:blank');
    }
    expect(updated).toBe(true);
    const caches = await next.evaluate(async () => (await self.caches.keys()).filter((k) => k.startsWith('instruct-studio-app-')));
    expect(caches).toHaveLength(1);
    expect(caches[0]).toMatch(/-next$/);
    // A reload of the same build says nothing more.
    await next.reload();
    await next.getByRole('navigation', { name: 'Pipeline' }).waitFor();
    expect(await next.getByTestId('update-notice').count()).toBe(0);
    expect(studio.errors).toEqual([]);
  });
});
