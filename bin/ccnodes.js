#!/usr/bin/env node
// Entry shim: registers tsx (with the repository's tsconfig, wherever the command is run from) so
// the TypeScript sources run without a build step, then hands over to src/bin/ccnodes.ts (the only
// place that reads argv/env and sets the exit code).
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/bin/ccnodes.ts');
