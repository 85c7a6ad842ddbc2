// Lets Node (the CLI and bench) import files with Vite's `?raw` suffix, so shader modules read the same
// way in the browser bundle, in Vitest and in the command line.
import { register } from 'node:module';

register('./raw-hooks.mjs', import.meta.url);
