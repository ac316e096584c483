/**
 * Bench-only process for `bench/container.ts`: the services a confidential container talks to — the
 * demo's simulated PCS, attestation service and quote helper on its AESM socket — in a process of
 * their own, as on a cluster (the attestation service on its own pods, the quote helper a
 * DaemonSet), so that the bench process's own work (garbage collection, the in-process runs) does
 * not slow their answers. Prints one JSON line `{"attestationUrl","issuer","adminToken","seed",
 * "aesmSocket"}` on stdout; exits on SIGTERM/SIGINT or when stdin closes (so it never outlives the
 * bench), closing the services.
 */
import { startDemoStack } from '../../src/cli/demo-stack.ts';
import { endWithParent } from './lifetime.ts';

const stack = await startDemoStack();

endWithParent(() => stack.close());

process.stdout.write(
  `${JSON.stringify({
    attestationUrl: stack.attestationUrl,
    issuer: stack.attestation.issuer,
    adminToken: stack.adminToken,
    seed: stack.seed,
    aesmSocket: stack.aesmSocket,
  })}\n`,
);
