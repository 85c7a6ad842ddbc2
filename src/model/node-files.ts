// ModelFiles over a folder on disk (Node: CLI, tests, benchmarks). Reads only the byte ranges asked for,
// so validating a multi-gigabyte safetensors file touches just its header.
import { readdirSync, statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelFileMissingError } from './errors';
import type { ByteSource, ModelFiles } from './files';

export function dirFiles(dir: string): ModelFiles {
  const root = path.resolve(dir);
  const label = root;
  return {
    label,
    list: () => readdirSync(root).filter((name) => statSync(path.join(root, name)).isFile()),
    open: async (name) => {
      const full = path.resolve(root, name);
      if (path.dirname(full) !== root) throw new ModelFileMissingError(name, label);
      let size: number;
      try {
        const info = await stat(full);
        if (!info.isFile()) throw new Error('not a file');
        size = info.size;
      } catch {
        throw new ModelFileMissingError(name, label);
      }
      return fileSource(name, full, size);
    },
  };
}

function fileSource(name: string, full: string, size: number): ByteSource {
  return {
    name,
    size,
    async read(offset, length) {
      const end = Math.min(size, offset + length);
      const out = new Uint8Array(Math.max(0, end - offset));
      const handle = await open(full, 'r');
      try {
        let filled = 0;
        while (filled < out.byteLength) {
          const { bytesRead } = await handle.read(out, filled, out.byteLength - filled, offset + filled);
          if (bytesRead === 0) break; // the file shrank since stat(); the caller sees a short read
          filled += bytesRead;
        }
        return filled === out.byteLength ? out : out.subarray(0, filled);
      } finally {
        await handle.close();
      }
    },
  };
}
