// npm run check:pack: the packed tarball installs into an empty directory and
// works there (CLI through npx, ESM, type-checked TypeScript, a worker thread).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('the package installs from its tarball and works as a consumer uses it', async () => {
  const script = new URL('../../scripts/check-pack.mjs', import.meta.url).pathname;
  const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 60_000 });
  expect(stdout).toMatch(/check:pack: all good/);
}, 70_000);
