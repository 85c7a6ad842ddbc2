// docs/screenshot.png: the playground after streaming three samples from stories260K (picked as local files).
// Run after a build: `npm run build && node --import tsx test/e2e/screenshot.ts`.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { openStudio, repoRoot } from './harness';
import { loadStoriesFromFiles } from './ui';

const studio = await openStudio();
try {
  const { page } = studio;
  await page.setViewportSize({ width: 1440, height: 960 });
  await studio.open('playground');
  await page.getByRole('region', { name: 'GPU' }).getByText('Vendor').waitFor();
  await loadStoriesFromFiles(page);
  await page.getByLabel('Prompt token ids').fill('1, 461, 401, 378');
  await page.getByLabel('Temperature').fill('0.8');
  await page.getByLabel('Samples', { exact: true }).fill('3');
  await page.getByLabel('Max new tokens').fill('48');
  await page.getByRole('button', { name: /Generate/ }).click();
  await page.getByRole('article', { name: 'Sample 3' }).locator('footer .badge:not(.live)').waitFor({ timeout: 240_000 });
  await page.mouse.move(0, 0);
  await mkdir(path.join(repoRoot, 'docs'), { recursive: true });
  await page.screenshot({ path: path.join(repoRoot, 'docs/screenshot.png') });
  if (studio.errors.length) throw new Error(`the page logged errors:\n${studio.errors.join('\n')}`);
} finally {
  await studio.close();
}
