// A Vite build plugin that writes the service worker (sw.js, from the template beside this file) with the list of
// every file of the build and a version that changes whenever any of them does. The version also goes into
// index.html (<meta name="studio-build">), so a page knows which build it runs and can say when that changed.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin, ResolvedConfig } from 'vite';

const template = fileURLToPath(new URL('./sw.js', import.meta.url));

/** The meta tag of index.html that holds the build's version. */
export const BUILD_META = 'studio-build';

export function offlinePlugin(): Plugin {
  let config: ResolvedConfig;
  return {
    name: 'instruct-studio-offline',
    apply: 'build',
    // After Vite's own plugins, so index.html is in the bundle.
    enforce: 'post',
    configResolved(resolved) {
      config = resolved;
    },
    generateBundle(_options, bundle) {
      const index = bundle['index.html'];
      if (index?.type !== 'asset') throw new Error('the offline plugin found no index.html in the build');
      const hash = createHash('sha256');
      const files = ['./index.html'];
      for (const [name, item] of Object.entries(bundle).sort(([a], [b]) => a.localeCompare(b))) {
        if (name.endsWith('.map') || name === 'index.html') continue;
        files.push(`./${name}`);
        hash.update(name).update(item.type === 'chunk' ? item.code : item.source);
      }
      const publicDir = config.publicDir;
      const publicFiles = publicDir ? readdirSync(publicDir, { withFileTypes: true }).filter((f) => f.isFile()).map((f) => f.name) : [];
      for (const name of publicFiles.sort()) {
        files.push(`./${name}`);
        hash.update(name).update(readFileSync(path.join(publicDir, name)));
      }
      // index.html names every entry file by its content hash, so the files above already decide the version.
      const version = hash.update(String(index.source)).digest('hex').slice(0, 16);
      index.source = String(index.source).replace('</head>', `  <meta name="${BUILD_META}" content="${version}" />\n  </head>`);
      const source = readFileSync(template, 'utf8')
        .replace('__STUDIO_VERSION__', version)
        .replace('__STUDIO_FILES__', JSON.stringify(files));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}
