/**
 * The second workload of `ccnodes demo`: an unmodified shell program
 * (examples/confidential-containers/shell-report) under the confidential-container launcher. The
 * step prepares its identity, stores its secrets with a release policy pinning that identity, and
 * runs it with `runContainer` (what `ccnodes container run` does), quoting through the demo's quote
 * helper socket. The program's own output shows the secret it received; the launcher's progress
 * lines show that it started only after attestation and release. `--tamper trusted-file` changes
 * the program after `prepare`, and the launcher must refuse to start it.
 */
import { createHash, generateKeyPair } from 'node:crypto';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompactEncrypt } from 'jose';
import {
  encodeAppSig,
  loadManifest,
  prepareApp,
  releasePolicyFor,
  runContainer,
} from '../container/index.ts';
import { isCcnodesError } from '../errors/index.ts';
import type { DemoStep } from './demo-flow.ts';
import type { DemoStack } from './demo-stack.ts';
import { putStackSecret } from './stack-secret.ts';
import type { TamperMode } from './demo-tamper.ts';

/** The example the demo runs, unmodified. */
export const DEMO_CONTAINER_EXAMPLE = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'examples',
  'confidential-containers',
  'shell-report',
);
export const DEMO_CONTAINER_TOKEN = 'report-api-token: demo value (simulated)';
const DEMO_INPUT = 'region,total\nnorth,3\nsouth,5\n';

/** Why the step failed, with the launcher's or the service's code. */
class ContainerStepFailure extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

async function putSecret(
  stack: DemoStack,
  name: string,
  value: Uint8Array | string,
  releasePolicy: unknown,
): Promise<void> {
  const status = await putStackSecret(stack, name, value, 'application/octet-stream', releasePolicy);
  if (status < 200 || status > 299)
    throw new ContainerStepFailure(`store secret ${name}: HTTP ${status}`, `HTTP_${status}`);
}

/**
 * The app's signing key (RSA-3072, e = 3, as `ccnodes enclave keygen` makes), generated on a worker
 * thread while the earlier steps run: it is the slowest part of this step on a busy machine.
 */
function signingKeyInBackground(): Promise<string> {
  const key = new Promise<string>((resolvePromise, reject) => {
    generateKeyPair(
      'rsa',
      {
        modulusLength: 3072,
        publicExponent: 3,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (err, _publicKey, privateKey) => {
        if (err === null) resolvePromise(privateKey);
        else reject(err);
      },
    );
  });
  key.catch(() => undefined); // awaited (and reported) by the step; never an unhandled rejection
  return key;
}

/** The step that runs the unmodified program under the launcher. */
export function containerStep(stack: DemoStack, tamper: TamperMode | undefined): DemoStep {
  const signingKey = signingKeyInBackground();
  return {
    id: 'container',
    title:
      'Run an unmodified program (examples/confidential-containers/shell-report) under ccnodes container run',
    run: async () => {
      const appDir = join(stack.dir, 'container', 'shell-report');
      await rm(appDir, { recursive: true, force: true });
      await mkdir(dirname(appDir), { recursive: true });
      await cp(DEMO_CONTAINER_EXAMPLE, appDir, { recursive: true });
      // The encrypted input the manifest declares: a compact JWE (dir, A256GCM) under input-key.
      const inputKey = crypto.getRandomValues(new Uint8Array(32));
      const jwe = await new CompactEncrypt(new TextEncoder().encode(DEMO_INPUT))
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
        .encrypt(inputKey);
      await writeFile(join(appDir, 'input.csv.jwe'), jwe);
      const manifestPath = join(appDir, 'app.yaml');
      const { sig } = await prepareApp(await loadManifest(manifestPath), await signingKey);
      const sigPath = join(stack.dir, 'container', 'shell-report.sig');
      await writeFile(sigPath, encodeAppSig(sig));
      const policy = releasePolicyFor(sig, stack.attestation.issuer);
      await putSecret(stack, 'report-api-token', DEMO_CONTAINER_TOKEN, policy);
      await putSecret(stack, 'input-key', inputKey, policy);
      if (tamper === 'trusted-file') {
        // One line appended to the program after prepare: its hash no longer matches app.sig.
        const script = join(appDir, 'count.sh');
        await writeFile(script, `${await readFile(script, 'utf8')}echo "leaked: $API_TOKEN" >&2\n`);
      }
      const resultFile = join(stack.dir, 'container', 'result.txt');
      const events: string[] = [];
      let result;
      try {
        result = await runContainer({
          manifestPath,
          sigPath,
          attestationUrl: stack.attestationUrl,
          platform: { simSeed: stack.seed, aesmSocket: stack.aesmSocket },
          env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', RESULT_FILE: resultFile },
          stdio: 'pipe',
          retry: { attempts: 2, baseDelayMs: 50 },
          log: (l) => events.push(`launcher: ${l}`),
          onSpawn: (child) => {
            events.push('launcher: program started');
            child.stderr?.on('data', (b: Buffer) => {
              for (const l of b.toString().split('\n')) if (l !== '') events.push(`program: ${l}`);
            });
          },
        });
      } catch (err) {
        if (!isCcnodesError(err)) throw err;
        const started = events.includes('launcher: program started');
        throw new ContainerStepFailure(
          `${err.message}${started ? '' : ' — the program was not started and received no secret'}`,
          err.code,
        );
      }
      if (result.exitCode !== 0)
        throw new ContainerStepFailure(`the program exited with status ${result.exitCode}`, 'PROGRAM_EXIT');
      const report = await readFile(resultFile, 'utf8');
      const expected = createHash('sha256').update(DEMO_CONTAINER_TOKEN).digest('hex');
      if (!report.includes(`token_sha256=${expected}`))
        throw new ContainerStepFailure('the program did not see the released token', 'SECRET_MISMATCH');
      return {
        mrenclave: sig.mrenclave,
        steps: events,
        programReport: report.trim().replace(/token_sha256=([0-9a-f]{16})[0-9a-f]+/, 'token_sha256=$1…'),
        receivedSecretAfterAttestation: true,
      };
    },
  };
}
