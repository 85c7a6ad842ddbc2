import { afterAll } from 'vitest';
import { nodeGpu } from '../../src/gpu/node';

// Dawn crashes the worker if the device is still alive when the process exits.
afterAll(async () => {
  (await nodeGpu()).device.destroy();
});
