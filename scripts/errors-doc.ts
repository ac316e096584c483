/** Regenerates docs/errors.md from the error registries (`npm run docs:errors`). */
import { writeFileSync } from 'node:fs';
import { errorCatalog, renderErrorsDoc } from '../src/cli/error-catalog.ts';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsDoc(await errorCatalog()));
