#!/usr/bin/env node
// Entry shim: registers tsx so the TypeScript sources run without a build step, then hands over
// to src/bin/ccnodes.ts (the only place that reads argv/env and sets the exit code).
import { register } from 'tsx/esm/api';

register();
await import('../src/bin/ccnodes.ts');
