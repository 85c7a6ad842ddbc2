// Local model folders kept in the browser: which files are kept, the key that keeps a folder once, and the engine
// state around them: picked files are kept after they load, a kept folder loads again without the picker, a failed
// copy leaves the model loaded and says a reload will ask again, and a forgotten folder is gone. (The OPFS side
// itself runs in the browser: test/e2e/train.test.ts.)
import { describe, expect, test } from 'vitest';
import type { ModelInfo, ModelSource } from '../../src/engine/api';
import type { EngineClient } from '../../src/engine/client';
import { folderKey, modelFileNames, type KeptFolder, type ModelFolders } from '../../src/model/file-cache';
import { EngineState } from '../../src/app/state/engine.svelte';

const file = (name: string, text: string, folder = '') => {
  const f = new File([text], name);
  if (folder) Object.defineProperty(f, 'webkitRelativePath', { value: `${folder}/${name}` });
  return f;
};

test('only the files a model load reads are kept', () => {
  expect(modelFileNames(['config.json', 'model.safetensors', 'tokenizer.json', 'README.md', 'pytorch_model.bin', 'model-00001-of-00002.safetensors'])).toEqual([
    'config.json',
    'model.safetensors',
    'tokenizer.json',
    'model-00001-of-00002.safetensors',
  ]);
});

test('a folder key depends on config.json and every file name and size, not on their order', async () => {
  const a = await folderKey([file('config.json', '{"dim": 64}'), file('model.safetensors', 'abcd')]);
  expect(a).toMatch(/^[0-9a-f]{16}$/);
  expect(await folderKey([file('model.safetensors', 'wxyz'), file('config.json', '{"dim": 64}')])).toBe(a);
  expect(await folderKey([file('config.json', '{"dim": 32}'), file('model.safetensors', 'abcd')])).not.toBe(a);
  expect(await folderKey([file('config.json', '{"dim": 64}'), file('model.safetensors', 'abcde')])).not.toBe(a);
});

/** Folders in memory, as the OPFS store keeps them; `full` makes keep() fail as a full disk does. */
function memoryFolders(): ModelFolders & { full: boolean } {
  const kept = new Map<string, { folder: KeptFolder; files: File[] }>();
  return {
    full: false,
    list: async () => [...kept.values()].map((k) => k.folder),
    async keep(files, name) {
      if (this.full) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      const key = await folderKey(files);
      const folder = { key, name, files: files.map((f) => f.name), bytes: files.reduce((a, f) => a + f.size, 0), savedAt: Date.now() };
      kept.set(key, { folder, files });
      return folder;
    },
    open: async (key) => kept.get(key)!.files,
    forget: async (key) => void kept.delete(key),
  };
}

const info = { label: 'local files', parameterCount: 260_000 } as ModelInfo;

function setup() {
  const loads: ModelSource[] = [];
  const client = {
    onModelChange: () => () => {},
    loadModel: async (source: ModelSource) => (loads.push(source), info),
  } as unknown as EngineClient;
  const folders = memoryFolders();
  return { engine: new EngineState(client, null, folders), folders, loads };
}

describe('kept model folders in the engine state', () => {
  const picked = [file('config.json', '{"dim": 64}', 'stories260K'), file('model.safetensors', 'weights!', 'stories260K')];

  test('picked files are kept after they load, listed with their size, and load again from the browser', async () => {
    const { engine, loads } = setup();
    await engine.loadFromFiles(picked);
    expect(engine.model).toBe(info);
    expect(engine.keptFolders).toEqual([expect.objectContaining({ name: 'stories260K', bytes: 19, files: ['config.json', 'model.safetensors'] })]);
    const key = engine.keptFolders[0].key;
    expect(engine.loadedFrom).toEqual({ kind: 'kept', key, name: 'stories260K' });

    await engine.loadKept(key);
    expect(loads).toHaveLength(2);
    expect(loads[1]).toEqual({ kind: 'files', files: picked });
    expect(engine.loadedFrom).toEqual({ kind: 'kept', key, name: 'stories260K' });
    expect(engine.loadError).toBeNull();
  });

  test('forgetting a folder removes it; the model stays loaded but can no longer be loaded again by itself', async () => {
    const { engine } = setup();
    await engine.loadFromFiles(picked);
    await engine.forgetKept(engine.keptFolders[0].key);
    expect(engine.keptFolders).toEqual([]);
    expect(engine.loadedFrom).toBeNull();
    expect(engine.model).toBe(info);
  });

  test('a copy that fails leaves the model loaded and says a reload will ask for its files again', async () => {
    const { engine, folders } = setup();
    folders.full = true;
    await engine.loadFromFiles(picked);
    expect(engine.model).toBe(info);
    expect(engine.loadedFrom).toBeNull();
    expect(engine.keptError).toMatch(/could not be kept in the browser, so a reload will ask for its files again: The quota has been exceeded/);
  });

  test('a Hub model is loaded again from its id and endpoint', async () => {
    const { engine, loads } = setup();
    await engine.loadRef({ kind: 'hub', id: 'HuggingFaceTB/SmolLM2-135M-Instruct', endpoint: 'http://127.0.0.1:9/hub' });
    expect(loads).toEqual([{ kind: 'hub', id: 'HuggingFaceTB/SmolLM2-135M-Instruct', endpoint: 'http://127.0.0.1:9/hub' }]);
    expect(engine.loadedFrom).toEqual({ kind: 'hub', id: 'HuggingFaceTB/SmolLM2-135M-Instruct', endpoint: 'http://127.0.0.1:9/hub' });
  });
});
