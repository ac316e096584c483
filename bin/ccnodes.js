#!/usr/bin/env node
// Entry shim of the `ccnodes` executable.
//
// - In a checkout (src/ is next to bin/): registers tsx (with the repository's tsconfig, wherever the
//   command is run from) so the TypeScript sources run without a build step, then imports
//   src/bin/ccnodes.ts. A dist/ left over from an earlier build is ignored here, so it can never run
//   stale code.
// - In the installed package (no src/; `npm pack` ships the precompiled build, see the prepack
//   script): imports dist/ccnodes.cjs, plain JavaScript, no loader and no tsx at run time. That
//   CommonJS start runs `container run` and `quote verify` from their standalone files and hands
//   every other command line to dist/ccnodes.js, the ES module main.
//
// src/bin/ccnodes.ts is the only place that reads argv/env and sets the exit code.
import { existsSync } from 'node:fs';

const source = new URL('../src/bin/ccnodes.ts', import.meta.url);
if (existsSync(source)) {
  const [{ fileURLToPath }, { register }] = await Promise.all([import('node:url'), import('tsx/esm/api')]);
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  await import(source.href);
} else {
  await import('../dist/ccnodes.cjs');
}
