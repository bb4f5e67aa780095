// Every ```ts block of README.md runs (a block fenced ```ts no-run is shown, not run):
// each is written next to the sources, with 'pgtemu' resolved to src/index.ts, and imported.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/^```ts([^\n]*)\n([\s\S]*?)^```$/gm)]
  .map((m, i) => ({ i, info: m[1].trim(), code: m[2], line: readme.slice(0, m.index).split('\n').length }));
const dir = mkdtempSync(join(root, 'test/cli/.readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README.md', () => {
  it('has ts blocks to run', () => {
    expect(blocks.filter((b) => b.info !== 'no-run').length).toBeGreaterThan(0);
  });
  it.each(blocks.filter((b) => b.info !== 'no-run').map((b) => [b.line, b] as const))('the ts block at line %i runs', async (_, b) => {
    const src = b.code
      .replace(/from 'pgtemu'/g, `from '${join(root, 'src/index.ts')}'`)
      .replace(/from 'pgtemu\/arch\/([a-z0-9_]+)'/g, (_m, a) => `from '${join(root, 'src/arch', a, 'index.ts')}'`);
    const file = join(dir, `block-${b.i}.ts`);
    writeFileSync(file, src);
    await import(file);
  });
});
