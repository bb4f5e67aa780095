// The package as a consumer gets it: pack the tarball (without rebuilding: the
// build is current), install it into an empty directory from the npm cache
// (no network), then there run the CLI through npx, decode a PTE, and import the
// module from ESM, from a type-checked TypeScript file and from a worker thread
// to pin and unpin a page. Exits non-zero on the first thing that fails.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const dir = mkdtempSync(join(tmpdir(), 'pgtemu-pack-'));
const sh = (cmd, args, cwd = dir) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const step = (what) => process.stdout.write(`check:pack: ${what}\n`);
const keep = process.argv.includes('--keep');

try {
  step('npm pack');
  const [packed] = JSON.parse(sh(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], root));
  const tarball = join(dir, packed.filename);
  const files = packed.files.map((f) => f.path);
  for (const need of ['build/core.wasm', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/host/worker.js', 'LICENSE', 'README.md', 'package.json']) {
    if (!files.includes(need)) throw new Error(`the tarball has no ${need}`);
  }
  for (const f of files) {
    if (/^(test|bench|assembly|scripts|node_modules)\//.test(f)) throw new Error(`the tarball ships ${f}`);
    // the reference model (test/reference) checks the core; it is no part of the package
    if (/(^|\/)reference(\/|\.)/.test(f)) throw new Error(`the tarball ships the reference model: ${f}`);
  }
  for (const f of files.filter((x) => /\.(js|d\.ts)$/.test(x))) {
    if (/\bRefMachine\b/.test(readFileSync(join(root, f), 'utf8'))) throw new Error(`${f} names RefMachine: the reference model is no part of the package`);
  }
  // source maps point at sources the tarball ships
  for (const f of files.filter((x) => x.endsWith('.js.map'))) {
    const map = JSON.parse(readFileSync(join(root, f), 'utf8'));
    for (const s of map.sources) {
      const rel = join(f, '..', s);
      if (!files.includes(rel)) throw new Error(`${f} points at ${rel}, which the tarball does not ship`);
    }
  }
  // no @internal member in the emitted types
  for (const f of files.filter((x) => x.endsWith('.d.ts'))) {
    if (readFileSync(join(root, f), 'utf8').includes('@internal')) throw new Error(`${f} declares an @internal member`);
  }

  step('npm install the tarball into an empty directory (from the cache)');
  const app = join(dir, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  try {
    sh(npm, ['install', '--offline', '--no-audit', '--no-fund', tarball], app);
  } catch {
    step('the cache lacks a dependency: installing with --prefer-offline');
    sh(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], app);
  }
  // a consumer's install builds nothing: no lifecycle script of pgtemu runs
  const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'));
  if (lock.packages['node_modules/pgtemu'].hasInstallScript) throw new Error('npm sees an install script in pgtemu');

  step('npx pgtemu archs; pgtemu pte');
  const archs = sh('npx', ['--offline', 'pgtemu', 'archs'], app);
  if (!/x86_64 +4level \*/.test(archs)) throw new Error(`npx pgtemu archs printed:\n${archs}`);
  const pte = sh(join(app, 'node_modules/.bin/pgtemu'), ['pte', '--arch', 'x86_64', '0x8000000001c63067'], app);
  if (!pte.includes('(PRESENT|RW|USER|ACCESSED|DIRTY|NX)')) throw new Error(`pgtemu pte printed:\n${pte}`);

  step('import from ESM and from a worker thread: pin and unpin a page');
  const body = `
import { Machine, WorkerPool, archs } from 'pgtemu';
import { x86_64 as x86 } from 'pgtemu/arch/x86_64';
import pkg from 'pgtemu/package.json' with { type: 'json' };
const m = Machine.createSync({ arch: 'x86_64', ramMiB: 16, tablePoolMiB: 1, threads: 2 });
const mm = m.createMm();
const A = 1n << 32n;
mm.mmap({ start: A, length: 1n << 21n, populate: true });
const g = mm.gupFast(A, 1, { pin: true, write: true });
const before = m.page(g.pfns[0]).refcount;
m.unpin(g);
if (before !== 1 + 1024 || m.page(g.pfns[0]).refcount !== 1) throw new Error('pin/unpin: refcount ' + before);
const pool = await WorkerPool.start(m, 1);
const { results } = await pool.run([{ mm, start: A, nr: 512, pin: true, write: true, rounds: 4 }]);
await pool.close();
if (results[0].pages !== 2048 || m.checkInvariants().length) throw new Error('worker: ' + JSON.stringify(results[0]));
if (x86 !== archs.x86_64 || pkg.name !== 'pgtemu') throw new Error('subpath exports');
console.log('ok');
`;
  writeFileSync(join(app, 'esm.mjs'), body);
  if (sh(process.execPath, ['esm.mjs'], app).trim() !== 'ok') throw new Error('esm.mjs');

  step('a type-checked .ts consumer (the project\'s typescript)');
  writeFileSync(join(app, 'use.ts'), body.replace("import pkg from 'pgtemu/package.json' with { type: 'json' };\n", '')
    .replace(" || pkg.name !== 'pgtemu'", '')
    .replace("const before = m.page(g.pfns[0]).refcount;", "const before: number = m.page(g.pfns[0]).refcount;\nconst n: number = m.page(g.pfns[0]).folioMapcount;\nvoid n;"));
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', skipLibCheck: false,
      types: ['node'], typeRoots: [join(root, 'node_modules/@types')] },
    files: ['use.ts'],
  }));
  sh(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', '.'], app);
  if (sh(process.execPath, ['out/use.js'], app).trim() !== 'ok') throw new Error('use.ts');
  step(`all good (${files.length} files, ${(packed.size / 1024).toFixed(0)} KiB packed)`);
} catch (e) {
  process.stderr.write(`check:pack: ${e.stderr ?? ''}${e.stdout ?? ''}${e.message}\n`);
  process.exitCode = 1;
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
  else process.stdout.write(`check:pack: kept ${dir}\n`);
}
