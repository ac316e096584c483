/**
 * Benchmark dispatcher: `npm run bench -- <name>` runs bench/<name>.ts. Each benchmark prints its
 * progress and, as its last line, one JSON object: {"bench", "ours", "peer" or "bound", "unit", …}.
 * Every "bound" is measured in the same run; goals from the issues appear as "target"; when a bench
 * times several paths, "headline" names the one reported as "ours".
 */
import { existsSync, readdirSync } from 'node:fs';

const name = process.argv[2];
const available = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3));
if (name === undefined || name === '--help' || !existsSync(new URL(`./${name}.ts`, import.meta.url))) {
  process.stderr.write(`usage: npm run bench -- <name>\navailable: ${available.join(', ') || '(none)'}\n`);
  process.exitCode = name === '--help' ? 0 : 2;
} else {
  await import(`./${name}.ts`);
}
