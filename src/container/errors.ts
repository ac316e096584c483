/**
 * Errors of `container`. Codes are `ERR_CONTAINER_<CONDITION>`; docs/errors.md is generated from
 * this registry. Messages name the manifest field, the file or the step; none carries a secret.
 */
import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

/** Error codes of `container`: confidential containers: the app manifest, prepare/measure, and the launcher (`ccnodes container`). Each code names its error class (see docs/errors.md). */
export const CONTAINER_ERRORS = {
  ERR_CONTAINER_MANIFEST: {
    type: 'ContainerManifestError',
    summary:
      'An app manifest field is missing, unknown, of the wrong type or out of range; `details.field` names it (e.g. `secrets[1].env`).',
  },
  ERR_CONTAINER_MANIFEST_SYNTAX: {
    type: 'ContainerManifestError',
    summary: 'The app manifest is not valid YAML or JSON.',
  },
  ERR_CONTAINER_MANIFEST_IO: {
    type: 'ContainerManifestError',
    summary: 'The app manifest, or a file it names (the attestation CA), could not be read.',
  },
  ERR_CONTAINER_TRUSTED_FILE: {
    type: 'ContainerTrustedFileError',
    summary:
      'At prepare time a trusted file could not be read, is not a regular file, or a trusted-files pattern matches nothing; `details.path` or `details.field` names it.',
  },
  ERR_CONTAINER_TRUSTED_FILE_CHANGED: {
    type: 'ContainerTrustedFileError',
    summary:
      'A trusted file differs from its hash in app.sig (modified, missing, or a new file matching a pattern); `details.path` names it and `details.change` says how. The program is not started.',
  },
  ERR_CONTAINER_SIG: {
    type: 'ContainerSigError',
    summary:
      'app.sig is malformed, its SIGSTRUCT signature does not verify, or its recorded identity differs from its SIGSTRUCT.',
  },
  ERR_CONTAINER_IDENTITY_MISMATCH: {
    type: 'ContainerSigError',
    summary:
      'The manifest (or launcher runtime) measured now gives another MRENCLAVE than the one app.sig was signed for.',
  },
  ERR_CONTAINER_SIGNING_KEY: {
    type: 'ContainerSigError',
    summary: 'The signing key is unreadable or not an RSA-3072 private key with public exponent 3.',
  },
  ERR_CONTAINER_LAUNCH: {
    type: 'ContainerLaunchError',
    summary:
      'The app identity could not be launched on the (simulated) platform: EINIT refused the SIGSTRUCT, or the enclave runtime failed.',
  },
  ERR_CONTAINER_QUOTE: {
    type: 'ContainerLaunchError',
    summary:
      'No quote could be obtained: the AESM socket refused or did not answer, or the in-process simulated platform is unusable.',
  },
  ERR_CONTAINER_ATTESTATION: {
    type: 'ContainerLaunchError',
    summary:
      'A released secret is unusable: it does not open inside the enclave, or a secret for an environment variable is not UTF-8 text without NUL. (A token that is not for this identity or key is `ERR_ATTESTATION_CLIENT_TOKEN`.)',
  },
  ERR_CONTAINER_INPUT: {
    type: 'ContainerLaunchError',
    summary:
      'An encrypted input cannot be read or decrypted with the key released for it (wrong key, tampered file, bad key size); `details.path` names it.',
  },
  ERR_CONTAINER_SEALED_STATE: {
    type: 'ContainerLaunchError',
    summary:
      'The sealed state cannot be unsealed by this identity (another MRENCLAVE under the MRENCLAVE policy, another signer, tampered blob) or cannot be written back.',
  },
  ERR_CONTAINER_PRIVATE_DIR: {
    type: 'ContainerLaunchError',
    summary: 'The private memory-backed directory (mode 0700) for secrets and inputs could not be made.',
  },
  ERR_CONTAINER_CORE_LIMIT: {
    type: 'ContainerLaunchError',
    summary:
      'The launcher could not turn its core dumps off (coredump_filter 0, RLIMIT_CORE 0/0 through prlimit, both read back from /proc/self; or, with a soft limit of 0 already, prlimit found to start the program at 0/0) before any key or secret existed; `details.step` says where it failed. Opt out with `--allow-core-dumps`.',
  },
  ERR_CONTAINER_SPAWN: {
    type: 'ContainerLaunchError',
    summary: 'The program could not be started (entrypoint not found or not executable).',
  },
  ERR_CONTAINER_WARM_CACHE: {
    type: 'ContainerLaunchError',
    summary:
      '`container warm-cache`: the warm-up launch failed, or ran and wrote no code cache; `details.step` says which (`services`, `secret`, `launch`, `cache`).',
  },
} as const satisfies ErrorRegistry;

export type ContainerErrorCode = keyof typeof CONTAINER_ERRORS;

type CodesOf<T extends string> = {
  [K in ContainerErrorCode]: (typeof CONTAINER_ERRORS)[K]['type'] extends T ? K : never;
}[ContainerErrorCode];

type Options = { details?: Record<string, unknown>; cause?: unknown };

/** The app manifest is unusable; `details.field` names the field. */
export class ContainerManifestError extends CcnodesError {
  declare readonly code: CodesOf<'ContainerManifestError'>;
  constructor(code: CodesOf<'ContainerManifestError'>, message: string, options: Options = {}) {
    super(code, message, options);
  }
}

/** A trusted file is unreadable or changed; `details.path` names it. */
export class ContainerTrustedFileError extends CcnodesError {
  declare readonly code: CodesOf<'ContainerTrustedFileError'>;
  constructor(code: CodesOf<'ContainerTrustedFileError'>, message: string, options: Options = {}) {
    super(code, message, options);
  }
}

/** app.sig, the identity it records, or the signing key is unusable. */
export class ContainerSigError extends CcnodesError {
  declare readonly code: CodesOf<'ContainerSigError'>;
  constructor(code: CodesOf<'ContainerSigError'>, message: string, options: Options = {}) {
    super(code, message, options);
  }
}

/** A launch step failed; the program was not started (or, for sealed state, its state not saved). */
export class ContainerLaunchError extends CcnodesError {
  declare readonly code: CodesOf<'ContainerLaunchError'>;
  constructor(code: CodesOf<'ContainerLaunchError'>, message: string, options: Options = {}) {
    super(code, message, options);
  }
}
