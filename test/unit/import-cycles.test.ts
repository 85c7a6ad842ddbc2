// No module of src/ reaches itself through its imports. A cycle means two modules cannot be read, tested or moved
// apart, and at runtime one of them sees the other half-initialized. Type-only imports count too: they are the
// same coupling for a reader, and under verbatimModuleSyntax `import { type X }` still loads the module.
// Dynamic `import()` does not count: it runs later, on demand (the router loads pages that way).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const src = join(root, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|svelte)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The module specifiers of a file's static imports and re-exports: `import … from 'x'`, `import 'x'`, `export … from 'x'`. */
export function staticImports(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const pattern = /(?:^|[;\n}])\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/g;
  return [...code.matchAll(pattern)].map((m) => m[1]);
}

/** The file a relative specifier names, or null for a package or a non-source asset (shaders, JSON, CSS). */
function resolveImport(from: string, specifier: string, files: Set<string>): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = resolve(dirname(from), specifier.replace(/\?.*$/, ''));
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) if (files.has(candidate)) return candidate;
  return null;
}

/** Every cycle's strongly connected component (Tarjan), each as a path that starts and ends at the same module. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const selfLoop = graph.get(v)?.includes(v);
      if (component.length > 1 || selfLoop) components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components.map((component) => cyclePath(graph, component));
}

/** One concrete loop through a component, found by breadth-first search from its first module back to itself. */
function cyclePath(graph: Map<string, string[]>, component: string[]): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0];
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = parent.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

describe('imports', () => {
  test('the parser finds static imports and re-exports, with or without type, and skips dynamic imports and comments', () => {
    const text = [
      "import { a, type B } from './a';",
      "import type { C } from '../c';",
      "import * as d from './d.svelte';",
      "import './side-effect.css';",
      "export { e } from './e';",
      "export type { F } from './f';",
      "export * from './g';",
      "import {\n  h,\n  i,\n} from './h';",
      "// import { x } from './commented';",
      "/* import { y } from './blocked'; */",
      "const page = () => import('./lazy');",
      "const url = 'http://example.invalid/x'; import { z } from './after-url';",
    ].join('\n');
    expect(staticImports(text)).toEqual(['./a', '../c', './d.svelte', './side-effect.css', './e', './f', './g', './h', './after-url']);
  });

  test('cycles are found and each is named by a path that closes', () => {
    const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a', 'd']], ['d', []], ['e', ['e']]]);
    expect(findCycles(graph)).toEqual([['a', 'b', 'c', 'a'], ['e', 'e']]);
  });

  test('src/ has no import cycle', () => {
    const files = sourceFiles(src);
    const known = new Set(files);
    const graph = new Map<string, string[]>();
    for (const file of files) {
      let text = readFileSync(file, 'utf8');
      if (file.endsWith('.svelte')) text = [...text.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n');
      graph.set(file, staticImports(text).map((s) => resolveImport(file, s, known)).filter((f): f is string => f !== null));
    }
    const cycles = findCycles(graph).map((cycle) => cycle.map((f) => relative(root, f)).join(' -> '));
    expect(cycles, `import cycles:\n${cycles.join('\n')}`).toEqual([]);
  });
});
