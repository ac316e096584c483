/** Main of the `ccnodes` executable: the only place that reads argv/env and sets the exit status. */
import 'reflect-metadata';
import { runCli } from '../cli/index.ts';

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  exitCode: 0,
});
process.exitCode = code;
