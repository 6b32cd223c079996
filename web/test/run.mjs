// `npm test`: type-checks web/src and the tests, bundles each test/*.test.ts for Node.js (esbuild, as build.mjs
// bundles the pages: Node.js 20 runs no TypeScript), and runs them with Node's own runner (node --test).
// The tests read the reference vectors in ../tests/vectors, which the C# tests read too.
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const web = join(here, '..');
const out = join(web, 'dist-test');
const require = createRequire(import.meta.url);

execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '--noEmit', '-p', join(web, 'tsconfig.test.json')], { stdio: 'inherit' });

const tests = readdirSync(here).filter((name) => name.endsWith('.test.ts'));
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: tests.map((name) => join(here, name)),
  outdir: out,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'inline',
  logLevel: 'warning',
});

const files = readdirSync(out).filter((name) => name.endsWith('.test.mjs')).map((name) => join(out, name));
const env = { ...process.env, WEBREPL_VECTORS: join(web, '..', 'tests', 'vectors') };
const result = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
