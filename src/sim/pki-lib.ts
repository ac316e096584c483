/**
 * The ASN.1 / X.509 libraries of the simulated PKI, loaded on first use instead of at import time.
 *
 * `@peculiar/x509` (which loads `reflect-metadata`, `tsyringe` and the `@peculiar/asn1-*` schemas) is the
 * largest code the simulation pulls in, and initialising it costs tens of milliseconds of start-up.
 * Most users of this module never build a certificate (`ccnodes container run` quoting through an
 * AESM socket launches enclaves and nothing else), so the PKI code asks {@link pkiLib} for the
 * libraries when it first issues a certificate, a CRL or an SGX extension. The API stays
 * synchronous, so the libraries are loaded with `require`:
 *
 * - in the precompiled build (dist/), the literal `require('…')` calls below are bundled by esbuild
 *   as modules initialised where the call runs, i.e. on first use; in the self-contained files of
 *   scripts/build.ts (`container run`'s dist/container-run-fast.js), each becomes a `require` of
 *   dist/x509-lib.cjs, a separate CommonJS bundle of these libraries, so that their code is not even
 *   read until a certificate is built;
 * - run from the sources (ES modules under tsx, where `require` does not exist), `createRequire`
 *   loads the same CommonJS builds that an `import` of these packages resolves to (their `main`),
 *   so every user of the packages shares one instance.
 */
import { createRequire } from 'node:module';
import type * as Asn1Ecc from '@peculiar/asn1-ecc';
import type * as Asn1Schema from '@peculiar/asn1-schema';
import type * as Asn1X509 from '@peculiar/asn1-x509';
import type * as X509 from '@peculiar/x509';

/** The libraries the simulated PKI uses. */
export interface PkiLib {
  readonly asn1Ecc: typeof Asn1Ecc;
  readonly asn1Schema: typeof Asn1Schema;
  readonly asn1X509: typeof Asn1X509;
  readonly x509: typeof X509;
}

let loaded: PkiLib | undefined;

/** The PKI libraries, loaded (once) on the first call. */
export function pkiLib(): PkiLib {
  if (loaded !== undefined) return loaded;
  if (typeof require === 'function') {
    /* eslint-disable @typescript-eslint/no-require-imports -- bundled, initialised on first use (module doc) */
    loaded = {
      asn1Ecc: require('@peculiar/asn1-ecc') as typeof Asn1Ecc,
      asn1Schema: require('@peculiar/asn1-schema') as typeof Asn1Schema,
      asn1X509: require('@peculiar/asn1-x509') as typeof Asn1X509,
      x509: require('@peculiar/x509') as typeof X509,
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
  } else {
    const load = createRequire(import.meta.url);
    loaded = {
      asn1Ecc: load('@peculiar/asn1-ecc') as typeof Asn1Ecc,
      asn1Schema: load('@peculiar/asn1-schema') as typeof Asn1Schema,
      asn1X509: load('@peculiar/asn1-x509') as typeof Asn1X509,
      x509: load('@peculiar/x509') as typeof X509,
    };
  }
  return loaded;
}
