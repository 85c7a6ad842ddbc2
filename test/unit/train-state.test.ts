// The Train page's pure logic: the preference pairs a dataset yields (and the rows that yield none), pre-tokenized
// rows and pairs cut at max length, the latest reward metrics, and the reward model and DPO forms' defaults and settings.
import { describe, expect, test } from 'vitest';
import type { Row } from '../../src/data/types';
import type { PairExample } from '../../src/train/pairs';
import { defaultDpoSettings } from '../../src/train/run';
import { defaultDpoFormValues, defaultFormValues, defaultRewardFormValues, dpoPresets, rewardPresets, toDpoSettings, toRewardSettings, toSettings, TrainForm, validateForm } from '../../src/app/state/train-form.svelte';
import { cutExamples, cutPairs, lastValue, pairsOfRows, wilsonInterval } from '../../src/app/state/train-data';

const row = (extra: Partial<Row>): Row => ({ instruction: 'Pick one.', input: '', output: '', ...extra });

describe('pairsOfRows', () => {
  test('chosen/rejected rows give one pair, comparison rows every two responses with different scores', () => {
    const rows: Row[] = [
      row({ chosen: 'good', rejected: 'bad' }),
      row({ responses: [{ response: 'a', score: 9, source: 'gpt4' }, { response: 'b', score: 6, source: 'davinci' }, { response: 'c', score: 9, source: 'opt' }] }),
      row({ output: 'plain Alpaca row' }),
      row({ responses: [{ response: 'x', score: 5, source: 'gpt4' }, { response: 'y', score: 5, source: 'opt' }] }),
      row({ responses: [{ response: 'alone', score: 7, source: 'gpt4' }] }),
    ];
    const { pairs, pairless } = pairsOfRows(rows);
    expect(pairs.map((p) => [p.chosen, p.rejected, p.scoreGap])).toEqual([
      ['good', 'bad', undefined],
      ['a', 'b', 3],
      ['c', 'b', 3],
    ]);
    // The Alpaca row, the tie and the single response yield none.
    expect(pairless).toBe(3);
    expect(pairsOfRows([])).toEqual({ pairs: [], pairless: 0 });
  });
});

describe('cutting pre-tokenized data at max length', () => {
  const side = (n: number, last: number) => ({ inputIds: [...Array.from({ length: n - 1 }, (_, i) => i + 3), last], labels: Array.from({ length: n }, () => -100) });

  test('pairs: each side is cut, and a pair counts once when either side is long', () => {
    const pairs: PairExample[] = [
      { chosen: side(3, 7), rejected: side(4, 9), margin: 0 },
      { chosen: side(6, 7), rejected: side(2, 9), margin: 1 },
      { chosen: side(6, 7), rejected: side(8, 9), margin: 2 },
    ];
    const { pairs: cut, truncated } = cutPairs(pairs, 4);
    expect(truncated).toBe(2);
    expect(cut.map((p) => [p.chosen.inputIds.length, p.rejected.inputIds.length, p.margin])).toEqual([[3, 4, 0], [4, 2, 1], [4, 4, 2]]);
    expect(cut[1].chosen.labels).toHaveLength(4);
    expect(cut[0].chosen).toBe(pairs[0].chosen);
    expect(cutPairs(pairs, 8).truncated).toBe(0);
  });

  test('rows: cut and counted', () => {
    const { examples, truncated } = cutExamples([side(3, 1), side(9, 1)], 5);
    expect(truncated).toBe(1);
    expect(examples.map((e) => e.inputIds.length)).toEqual([3, 5]);
  });
});

test('lastValue finds the latest reward metrics, validation ones only where validation ran', () => {
  const events = [
    { step: 1, totalSteps: 3, epoch: 0.3, lr: 1, loss: 0.7, accuracy: 0.5, margin: 0.01 },
    { step: 2, totalSteps: 3, epoch: 0.6, lr: 1, loss: 0.6, accuracy: 0.75, margin: 0.2, valAccuracy: 0.8, valMargin: 0.3 },
    { step: 3, totalSteps: 3, epoch: 1, lr: 1 },
  ];
  expect(lastValue(events, 'accuracy')).toBe(0.75);
  expect(lastValue(events, 'valAccuracy')).toBe(0.8);
  expect(lastValue(events, 'valMargin')).toBe(0.3);
  expect(lastValue(events.slice(0, 1), 'valAccuracy')).toBeNull();
});

describe('the reward model form', () => {
  test('defaults: lr 1e-4, one epoch, 4 pairs a batch, a validation split charted every 25 steps, margin off; they match its first preset', () => {
    const form = new TrainForm(() => 128, defaultRewardFormValues, rewardPresets);
    const settings = form.rewardSettings();
    expect(settings).toMatchObject({ rank: 8, alpha: 16, lr: 1e-4, epochs: 1, steps: 0, batchSize: 4, valFraction: 0.1, evalEvery: 25, margin: false });
    expect(settings.targets).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj']);
    expect(form.preset).toBe('reward-r8');
    expect(form.presets).toBe(rewardPresets);
  });

  test('the TRL preset; margin and a reward run loaded back; SFT settings carry no margin', () => {
    const form = new TrainForm(() => null, defaultRewardFormValues, rewardPresets);
    form.applyPreset('trl-reward-lora');
    expect(form.rewardSettings()).toMatchObject({ rank: 32, alpha: 16, lr: 1e-4, batchSize: 8, epochs: 1, targets: ['q_proj', 'v_proj'] });
    expect(form.preset).toBe('trl-reward-lora');

    form.load({ ...toSettings(defaultRewardFormValues), steps: 40, margin: true }, 64, false);
    expect(form.lengthMode).toBe('steps');
    expect(form.rewardSettings()).toMatchObject({ steps: 40, margin: true });
    expect(form.maxLen).toBe(64);
    expect('margin' in form.settings()).toBe(false);
    expect(toRewardSettings({ ...defaultRewardFormValues, margin: true }).margin).toBe(true);
  });

  test('the SFT form keeps its own defaults and presets', () => {
    const form = new TrainForm();
    expect(form.settings()).toMatchObject({ lr: 3e-4, epochs: 3 });
    expect(form.presets.map((p) => p.id)).toEqual(['alpaca-lora-r8', 'alpaca-lora-r16']);
  });

  test("gradient checkpointing: 'auto' by default, set by the form, kept by a run loaded back; older runs keep the form's", () => {
    const form = new TrainForm();
    expect(form.settings().gradientCheckpointing).toBe('auto');
    form.gradientCheckpointing = 'on';
    expect(form.rewardSettings().gradientCheckpointing).toBe('on');
    form.load({ ...toSettings(defaultFormValues), gradientCheckpointing: 'off' }, 64, false);
    expect(form.dpoSettings().gradientCheckpointing).toBe('off');
    const { gradientCheckpointing: _, ...stored } = toSettings(defaultFormValues);
    form.load(stored as typeof stored & { gradientCheckpointing: 'auto' }, 64, false);
    expect(form.settings().gradientCheckpointing).toBe('off');
  });
});

describe('the DPO form', () => {
  test("defaults: defaultDpoSettings' beta 0.1, lr and one epoch, with LoRA on q/k/v/o and a validation split; they match its first preset", () => {
    const form = new TrainForm(() => 256, defaultDpoFormValues, dpoPresets);
    const settings = form.dpoSettings();
    expect(settings).toMatchObject({ beta: 0.1, lr: defaultDpoSettings.lr, epochs: defaultDpoSettings.epochs, steps: 0, rank: 8, alpha: 16, batchSize: 4, valFraction: 0.1, evalEvery: 25 });
    expect(settings.beta).toBe(defaultDpoSettings.beta);
    expect(settings.targets).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj']);
    expect(form.preset).toBe('dpo-r8');
    expect(form.valid).toBe(true);
  });

  test('beta must be a positive number; a DPO run loads back with its beta; SFT and reward settings carry none', () => {
    expect(validateForm({ ...defaultDpoFormValues, beta: 0 }, null).beta).toMatch(/^Beta must be a number above 0/);
    expect(validateForm({ ...defaultDpoFormValues, beta: Number.NaN }, null).beta).toMatch(/^Beta must be/);
    expect(validateForm({ ...defaultDpoFormValues, beta: 0.5 }, null).beta).toBeUndefined();

    const form = new TrainForm(() => null, defaultDpoFormValues, dpoPresets);
    form.applyPreset('dpo-conservative');
    expect(form.dpoSettings()).toMatchObject({ beta: 0.5, lr: 1e-5 });
    form.load({ ...toSettings(defaultDpoFormValues), rank: 4, steps: 30, beta: 0.25 }, 64, false);
    expect(form.dpoSettings()).toMatchObject({ beta: 0.25, rank: 4, steps: 30 });
    expect(form.lengthMode).toBe('steps');
    // A run without beta (SFT settings) keeps the form's.
    form.load(toSettings(defaultDpoFormValues), 64, false);
    expect(form.beta).toBe(0.25);
    expect('beta' in form.settings()).toBe(false);
    expect('beta' in form.rewardSettings()).toBe(false);
    expect(toDpoSettings({ ...defaultDpoFormValues, beta: 2 }).beta).toBe(2);
  });

  test('an SFT adapter to start from fixes rank, alpha and targets when applied', () => {
    const form = new TrainForm(() => null, defaultDpoFormValues, dpoPresets);
    form.apply({ rank: 16, alpha: 32, targets: ['v_proj', 'q_proj'] });
    expect(form.dpoSettings()).toMatchObject({ rank: 16, alpha: 32, targets: ['q_proj', 'v_proj'] });
  });
});

test('lastValue reads the DPO rewards, validation ones only where validation ran', () => {
  const events = [
    { step: 1, totalSteps: 2, epoch: 0.5, lr: 1, loss: 0.69, accuracy: 0, margin: 0, chosenReward: 0, rejectedReward: 0 },
    { step: 2, totalSteps: 2, epoch: 1, lr: 1, loss: 0.6, accuracy: 1, margin: 0.3, chosenReward: 0.1, rejectedReward: -0.2, valChosenReward: 0.05, valRejectedReward: -0.1 },
  ];
  expect(lastValue(events, 'chosenReward')).toBe(0.1);
  expect(lastValue(events, 'rejectedReward')).toBe(-0.2);
  expect(lastValue(events, 'valChosenReward')).toBe(0.05);
  expect(lastValue(events.slice(0, 1), 'valRejectedReward')).toBeNull();
});

test('the Wilson 95% interval of a held-out accuracy: inside [0, 1], not empty at 100%, narrower with more pairs', () => {
  const [low, high] = wilsonInterval(0.8, 10);
  expect(low).toBeCloseTo(0.4902, 4);
  expect(high).toBeCloseTo(0.9433, 4);
  const [allLow, allHigh] = wilsonInterval(1, 10);
  expect(allLow).toBeCloseTo(0.7225, 4);
  expect(allHigh).toBeCloseTo(1, 12);
  const [manyLow, manyHigh] = wilsonInterval(0.8, 1000);
  expect(manyHigh - manyLow).toBeLessThan((high - low) / 5);
});
