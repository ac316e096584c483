/** `ccnodes demo --tamper` modes: what each breaks and the step that must catch it. */
export const TAMPER_MODES = {
  'enclave-page': { failsAt: 'launch', what: 'an enclave page is changed after signing (EINIT refuses it)' },
  debug: {
    failsAt: 'attest',
    what: 'the enclave is built as a debug enclave, which production verification refuses',
  },
  'runtime-key': {
    failsAt: 'attest',
    what: 'the runtime data carries a key other than the one bound in REPORTDATA',
  },
  quote: { failsAt: 'attest', what: 'one byte of the quote is flipped on its way to the verifier' },
  'release-policy': { failsAt: 'release', what: "the secret's release policy names another MRENCLAVE" },
  'trusted-file': {
    failsAt: 'container',
    what: "the confidential container's program (count.sh) is changed after prepare; the launcher refuses to start it",
  },
} as const;
export type TamperMode = keyof typeof TAMPER_MODES;
