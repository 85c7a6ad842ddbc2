// Loading by Hub id through the UI against a local stand-in for the Hub: the first load downloads, and after a
// page reload the same load is served from Cache Storage without a single request.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startHubServer, type HubServer } from '../fakes/hub-server';
import { openStudio, type Studio } from './harness';
import { stories260K } from './ui';

const repo = 'tiny-stories/stories260K';

describe('model from the Hub, cached in the browser', () => {
  let studio: Studio;
  let hub: HubServer;

  beforeAll(async () => {
    hub = await startHubServer({ repos: { [repo]: path.resolve(stories260K) } });
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
    await hub?.close();
  });

  test('second load after a reload makes no request and says it came from the cache', async () => {
    const { page } = studio;
    await studio.open('playground');
    await page.getByLabel('Hugging Face model id').fill(repo);
    await page.getByLabel('Endpoint').fill(hub.url);
    await page.getByRole('button', { name: 'Load from Hub' }).click();
    const status = page.getByRole('status');
    await status.filter({ hasText: `Downloaded ${repo}` }).waitFor({ timeout: 120_000 });
    expect(hub.requests).toContain(`GET /${repo}/resolve/main/config.json`);
    expect(hub.requests).toContain(`GET /${repo}/resolve/main/model.safetensors`);
    await page.getByRole('region', { name: repo }).waitFor();

    await page.reload();
    await page.getByRole('navigation', { name: 'Pipeline' }).waitFor();
    // The id and endpoint are remembered on this device.
    expect(await page.getByLabel('Hugging Face model id').inputValue()).toBe(repo);
    expect(await page.getByLabel('Endpoint').inputValue()).toBe(hub.url);
    const before = hub.requests.length;
    await page.getByRole('button', { name: 'Load from Hub' }).click();
    await status.filter({ hasText: new RegExp(`Loaded ${repo} from the browser cache .*nothing downloaded`) }).waitFor({ timeout: 120_000 });
    expect(hub.requests.slice(before)).toEqual([]);
    await page.getByRole('region', { name: repo }).waitFor();

    expect(studio.errors).toEqual([]);
  });
});
