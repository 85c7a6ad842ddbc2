import { expect, test } from 'vitest';
import { initAdapter } from '../../src/train/init';
import { tinyConfig } from '../fixtures/random-model';

// tinyConfig: C 24, H 40, NH 6, NKV 2, HS 4, L 2.
const config = tinyConfig();

test('modules in layer order, then loraTargets order, with PEFT shapes; B is zero', () => {
  const adapter = initAdapter(config, { rank: 3, alpha: 16, dropout: 0.05, targets: ['down_proj', 'v_proj', 'q_proj'] }, 'tiny', 1);
  expect(adapter).toMatchObject({ rank: 3, alpha: 16, dropout: 0.05, targets: ['q_proj', 'v_proj', 'down_proj'], baseModel: 'tiny' });
  expect(adapter.modules.map((m) => [m.layer, m.target, m.inFeatures, m.outFeatures])).toEqual([
    [0, 'q_proj', 24, 24],
    [0, 'v_proj', 24, 8],
    [0, 'down_proj', 40, 24],
    [1, 'q_proj', 24, 24],
    [1, 'v_proj', 24, 8],
    [1, 'down_proj', 40, 24],
  ]);
  for (const m of adapter.modules) {
    expect(m.A.length).toBe(3 * m.inFeatures);
    expect(m.B.length).toBe(m.outFeatures * 3);
    expect(m.B.every((b) => b === 0)).toBe(true);
  }
});

test('A is Kaiming-uniform with a = sqrt(5): U(-1/sqrt(in), 1/sqrt(in))', () => {
  const wide = tinyConfig({ hiddenSize: 256, numHeads: 8, numKvHeads: 8, headDim: 32, intermediateSize: 400 });
  const adapter = initAdapter(wide, { rank: 64, alpha: 16, dropout: 0, targets: ['q_proj', 'down_proj'] }, 'wide', 3);
  for (const m of adapter.modules) {
    const bound = 1 / Math.sqrt(m.inFeatures);
    const values = [...m.A];
    const n = values.length; // 16384 or 25600
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...values)).toBeGreaterThan(0.99 * bound);
    expect(Math.min(...values)).toBeLessThan(-0.99 * bound);
    // Uniform on [-b, b]: mean 0 (sd of the mean b / sqrt(3n)), variance b^2 / 3.
    expect(Math.abs(mean)).toBeLessThan((4 * bound) / Math.sqrt(3 * n));
    expect(variance / (bound * bound / 3)).toBeCloseTo(1, 1);
  }
});

test('the same seed gives the same adapter; another seed another', () => {
  const settings = { rank: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'k_proj', 'o_proj'] as const };
  const a = initAdapter(config, { ...settings, targets: [...settings.targets] }, 'm', 42);
  const b = initAdapter(config, { ...settings, targets: [...settings.targets] }, 'm', 42);
  const c = initAdapter(config, { ...settings, targets: [...settings.targets] }, 'm', 43);
  expect(b).toEqual(a);
  expect(c.modules[0].A).not.toEqual(a.modules[0].A);
  // Each module draws fresh numbers.
  expect(a.modules[1].A.slice(0, 8)).not.toEqual(a.modules[0].A.slice(0, 8));
});

test('bad settings are refused', () => {
  const ok = { rank: 2, alpha: 4, dropout: 0, targets: ['q_proj' as const] };
  expect(() => initAdapter(config, { ...ok, rank: 0 }, 'm', 1)).toThrow(/rank/);
  expect(() => initAdapter(config, { ...ok, rank: 1.5 }, 'm', 1)).toThrow(/rank/);
  expect(() => initAdapter(config, { ...ok, alpha: 0 }, 'm', 1)).toThrow(/alpha/);
  expect(() => initAdapter(config, { ...ok, dropout: 1 }, 'm', 1)).toThrow(/dropout/);
  expect(() => initAdapter(config, { ...ok, targets: [] }, 'm', 1)).toThrow(/at least one/);
  expect(() => initAdapter(config, { ...ok, targets: ['fc1' as never] }, 'm', 1)).toThrow(/unknown LoRA target modules fc1/);
});
