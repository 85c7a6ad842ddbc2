// The training flags the train-sft, train-rm and train-dpo commands share: what they set and what they refuse.
import { describe, expect, test } from 'vitest';
import { UsageError, parseFlags } from '../../src/cli/args';
import { trainingFlags, trainingSettings } from '../../src/cli/train-flags';
import { defaultRewardSettings, defaultSftSettings } from '../../src/train/run';

const settings = (argv: string[], defaults = defaultSftSettings) => trainingSettings(parseFlags(argv, trainingFlags), defaults);

describe('training flags', () => {
  test('--gradient-checkpointing sets the switch; without it the run decides by its memory plan (auto)', () => {
    expect(settings([]).gradientCheckpointing).toBe('auto');
    expect(settings(['--gradient-checkpointing', 'on']).gradientCheckpointing).toBe('on');
    expect(settings(['--gradient-checkpointing', 'off'], defaultRewardSettings).gradientCheckpointing).toBe('off');
  });

  test('an unknown --gradient-checkpointing mode is refused with the choices', () => {
    expect(() => settings(['--gradient-checkpointing', 'yes'])).toThrow(UsageError);
    expect(() => settings(['--gradient-checkpointing', 'yes'])).toThrow('--gradient-checkpointing must be auto, on, off, got yes');
  });

  test('the other flags still set their settings', () => {
    const s = settings(['--rank', '16', '--targets', 'q_proj,down_proj', '--steps', '3', '--grad-accum', '2']);
    expect(s).toMatchObject({ rank: 16, targets: ['q_proj', 'down_proj'], steps: 3, gradAccum: 2, gradientCheckpointing: 'auto' });
    expect(() => settings(['--epochs', '1', '--steps', '2'])).toThrow('give --epochs or --steps, not both');
  });
});
