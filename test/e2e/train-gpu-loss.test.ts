// The Train page losing its GPU mid-run, on stories260K picked as local files: checkpoints every 2 steps, and the
// engine's test hook destroys the worker's real GPU device right after step 5. The run fails with GpuLostError, the
// page shows its notice, loads the model on a new device (engine.recover()) and resumes by itself from checkpoint
// step 4: step 5 comes again with the same loss, and the run finishes all its steps with one continuous curve.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openStudio, type Studio } from './harness';
import { loadStoriesFromFiles, seriesPoints, storyRowsJsonl } from './ui';

const TOTAL_STEPS = 8;
const CHECKPOINT_EVERY = 2;
const LOST_AFTER = 5;
/** The last checkpoint before the loss. */
const RESUMES_FROM = 4;

/** What the page showed while the run trained: the step counter's texts, its notices and the loss curves drawn. */
interface Seen {
  steps: string[];
  notices: string[];
  curves: { x: number; y: number }[][];
}

describe('Train page, GPU lost mid-run', () => {
  let studio: Studio;

  beforeAll(async () => {
    studio = await openStudio();
    await studio.open('train');
    await loadStoriesFromFiles(studio.page);
  });

  afterAll(async () => {
    await studio?.close();
  });

  test('the run gets the typed error, resumes by itself from its last checkpoint on a new device and finishes', async () => {
    const { page } = studio;
    await page.getByRole('radio', { name: 'Pre-tokenized JSONL' }).check();
    await page.getByLabel('Pre-tokenized JSONL file').setInputFiles({ name: 'rows.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(storyRowsJsonl()) });
    await page.getByText('16 rows to train on').waitFor();
    const form = page.getByRole('form', { name: 'Hyperparameters' });
    await form.getByLabel('Rank r').fill('4');
    await form.getByLabel('Alpha').fill('8');
    await form.getByLabel('Dropout').fill('0');
    await form.getByLabel('Learning rate').fill('0.01');
    await form.getByRole('radio', { name: 'Steps' }).check();
    await form.getByLabel('Number of steps').fill(String(TOTAL_STEPS));
    await form.getByLabel('Batch size').fill('4');
    await form.getByLabel('Checkpoint every').fill(String(CHECKPOINT_EVERY));

    await page.evaluate(() => {
      const seen: Seen = { steps: [], notices: [], curves: [] };
      Object.assign(window, { seen });
      new MutationObserver(() => {
        const step = document.querySelector('[aria-label="Step"]')?.textContent ?? '';
        if (step && seen.steps.at(-1) !== step) seen.steps.push(step);
        const notice = document.querySelector('p.notice[role="status"]')?.textContent ?? '';
        if (notice && seen.notices.at(-1) !== notice) seen.notices.push(notice);
        const curve = [...document.querySelectorAll('figure[data-title="Loss"] circle[data-series="train loss"]')]
          .map((c) => ({ x: Number(c.getAttribute('data-x')), y: Number(c.getAttribute('data-y')) }));
        if (curve.length && JSON.stringify(curve) !== JSON.stringify(seen.curves.at(-1))) seen.curves.push(curve);
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.evaluate((step) => window.studioEngine.destroyDeviceAfterStep(step), LOST_AFTER);
    await page.getByRole('button', { name: 'Start training' }).click();

    const monitor = page.getByRole('region', { name: /rows\.jsonl/ });
    await monitor.getByText('finished', { exact: true }).waitFor({ timeout: 900_000 });
    const seen = await page.evaluate(() => (window as unknown as { seen: Seen }).seen);

    // The typed error's message was shown while the page recovered.
    const lost = new RegExp(`^The GPU device was lost \\(destroyed: .*\\) during training; resuming from checkpoint step ${RESUMES_FROM} on a new device\\.$`);
    expect(seen.notices.some((n) => lost.test(n)), `notices: ${seen.notices.join(' | ')}`).toBe(true);

    // The step counter went up to the lost step, back to the checkpoint once, then up to the end.
    const steps = seen.steps.map((s) => Number(/Step (\d+)/.exec(s)?.[1] ?? NaN)).filter((n) => !Number.isNaN(n));
    const back = steps.flatMap((s, i) => (i > 0 && s < steps[i - 1] ? [i] : []));
    expect(back, `step counter texts: ${seen.steps.join(' | ')}`).toHaveLength(1);
    expect(steps[back[0] - 1]).toBe(LOST_AFTER);
    expect(steps[back[0]]).toBe(RESUMES_FROM);
    expect(steps.at(-1)).toBe(TOTAL_STEPS);

    // One continuous curve; the steps up to the checkpoint are the ones trained before the loss, and the step
    // trained again from the checkpoint gives the loss it gave before.
    const curve = await seriesPoints(page, 'Loss', 'train loss');
    expect(curve.map((p) => p.x)).toEqual(Array.from({ length: TOTAL_STEPS }, (_, i) => i + 1));
    const beforeLoss = seen.curves.find((c) => c.at(-1)!.x === LOST_AFTER)!;
    expect(beforeLoss.map((p) => p.x)).toEqual(Array.from({ length: LOST_AFTER }, (_, i) => i + 1));
    expect(curve.slice(0, RESUMES_FROM)).toEqual(beforeLoss.slice(0, RESUMES_FROM));
    for (let i = RESUMES_FROM; i < LOST_AFTER; i++) expect(curve[i].y).toBeCloseTo(beforeLoss[i].y, 5);
    expect(Number.isFinite(curve.at(-1)!.y)).toBe(true);
    expect(curve.at(-1)!.y).toBeLessThan(curve[0].y);
    expect(await monitor.locator('[data-value="checkpoint"]').innerText()).toBe(`step ${TOTAL_STEPS}`);
    await page.getByRole('status').filter({ hasText: `Finished ${TOTAL_STEPS} steps with loss` }).waitFor();

    // The engine holds the model again (on the new device) with the trained adapter in the policy slot.
    expect((await page.evaluate(() => window.studioEngine.modelInfo()))?.label).toBe('local files');
    expect(await page.evaluate(async () => (await window.studioEngine.adapterSlots()).map((s) => [s.slot, s.rank]))).toEqual([['policy', 4]]);
    expect(studio.errors).toEqual([]);
    expect(studio.warnings).toEqual([]);
  }, 1_000_000);
});
