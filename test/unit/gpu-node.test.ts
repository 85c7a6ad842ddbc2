import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { VulkanDriverMissingError, VulkanLoaderMissingError } from '../../src/gpu/errors';
import { diagnoseNoAdapter, ensureRuntimeDir } from '../../src/gpu/node';

const root = mkdtempSync(path.join(tmpdir(), 'gpu-node-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function dir(name: string, mode = 0o700): string {
  const full = path.join(root, name);
  mkdirSync(full);
  chmodSync(full, mode);
  return full;
}

describe('no GPU adapter in Node on Linux', () => {
  test('without libvulkan.so.1 in the library directories: install libvulkan1, not "use a browser"', () => {
    const searched = [dir('lib-empty'), path.join(root, 'absent')];
    const error = diagnoseNoAdapter(searched);
    expect(error).toBeInstanceOf(VulkanLoaderMissingError);
    expect(error.message).toContain('sudo apt-get install libvulkan1');
    expect(error.message).toContain(searched[0]);
    expect(error.message).not.toMatch(/browser|Chrome/);
  });

  test('with the loader but no driver: install a Vulkan driver or point Dawn at SwiftShader', () => {
    const lib = dir('lib-with-loader');
    writeFileSync(path.join(lib, 'libvulkan.so.1'), '');
    const error = diagnoseNoAdapter([dir('lib-other'), lib]);
    expect(error).toBeInstanceOf(VulkanDriverMissingError);
    expect(error.message).toMatch(/mesa-vulkan-drivers.*VK_ICD_FILENAMES=\/usr\/lib\/chromium\/vk_swiftshader_icd\.json/);
  });
});

describe('XDG_RUNTIME_DIR before Dawn starts', () => {
  function expectPrivateDir(value: string | undefined): void {
    const stat = statSync(value!);
    expect(stat.isDirectory()).toBe(true);
    expect(stat.uid).toBe(process.getuid!());
    expect(stat.mode & 0o077).toBe(0);
  }

  test.each([
    ['unset', undefined],
    ['relative', 'run/user'],
    ['missing', path.join(root, 'no-such-dir')],
    ['readable by others', dir('shared', 0o1777)],
  ])('%s: replaced by a private directory', (_, value) => {
    const env: NodeJS.ProcessEnv = value === undefined ? {} : { XDG_RUNTIME_DIR: value };
    ensureRuntimeDir(env);
    expect(env.XDG_RUNTIME_DIR).not.toBe(value);
    expectPrivateDir(env.XDG_RUNTIME_DIR);
  });

  test('a valid one is kept', () => {
    const own = dir('own');
    const env: NodeJS.ProcessEnv = { XDG_RUNTIME_DIR: own };
    ensureRuntimeDir(env);
    expect(env.XDG_RUNTIME_DIR).toBe(own);
  });
});
