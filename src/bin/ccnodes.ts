/** Main of the `ccnodes` executable (see process-context.ts for what it reads and sets). */
import { runCli } from '../cli/index.ts';
import { processContext } from './process-context.ts';

const { ctx, finish } = processContext();
finish(await runCli(process.argv.slice(2), ctx));
