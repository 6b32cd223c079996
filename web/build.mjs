// Type-checks web/src and bundles the two pages into dist/ (the gateway serves it as its wwwroot):
//   dist/index.html, terminal.js, terminal.css          the terminal page (/)
//   dist/edrys/index.html, module.js, module.css        the Edrys module (/edrys/)
// Everything is local: no CDN at run time (the Edrys module loads edrys.js from its Edrys host, as modules do).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
const require = createRequire(import.meta.url);

if (!process.argv.includes('--no-check')) {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '--noEmit', '-p', here], { stdio: 'inherit' });
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'edrys'), { recursive: true });
const common = { bundle: true, minify: true, sourcemap: true, target: 'es2022', format: 'iife', logLevel: 'warning', legalComments: 'linked' };
await build({ ...common, entryPoints: { terminal: join(here, 'src/terminal/main.ts') }, outdir: out });
await build({ ...common, entryPoints: { module: join(here, 'src/edrys/main.ts') }, outdir: join(out, 'edrys') });
cpSync(join(here, 'pages'), out, { recursive: true });
console.log(`web: bundled into ${out}`);
