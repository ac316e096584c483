/**
 * The services `ccnodes demo` runs on one machine, in simulation, inside a private temp directory:
 * the simulated PCS (collateral), the attestation service, a quote helper (sim provider) and the SGX
 * device plugin in simulation mode, registered with an in-process kubelet peer. `close()` stops
 * them in reverse order and removes the directory.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAttestationService,
  createDcapEvidenceVerifier,
  type AttestationService,
} from '../attestation/index.ts';
import { CollateralCache, PcsClient } from '../collateral-source/index.ts';
import { RESOURCE_EPC_MIB } from '../contract/index.ts';
import {
  DevicePluginMetrics,
  KubeletPeer,
  startSgxDevicePlugin,
  type JsonPatchOp,
  type NodeClient,
  type NodeView,
  type PluginEndpoint,
  type SgxDevicePlugin,
} from '../node/device-plugin/index.ts';
import {
  createSimProvider,
  silentLogger,
  startQuoteHelper,
  type QuoteHelper,
  type SimQuoteProvider,
} from '../node/quote-helper/index.ts';
import {
  createSimDcap,
  SIM_QE_ATTRIBUTES,
  SIM_QE_ISVPRODID,
  SIM_QE_MRENCLAVE,
  SIM_QE_MRSIGNER,
  SimCpu,
  startSimPcs,
  type SimPcsServer,
} from '../sim/index.ts';

/** The simulated Azure SKU the demo node pretends to be. */
export const DEMO_SKU = 'Standard_DC4s_v2';
export const DEMO_NODE = 'demo-node-0';
export const DEMO_ADMIN_TOKEN_BYTES = 24;

/** An in-memory node object standing in for the API server (records the plugin's patches). */
export class MemoryNodeClient implements NodeClient {
  readonly patches: { kind: 'node' | 'status'; ops: readonly JsonPatchOp[] }[] = [];
  readNode(name: string): Promise<NodeView> {
    return Promise.resolve({ metadata: { name, labels: {} }, spec: { taints: [] } } as NodeView);
  }
  patchNode(_name: string, ops: readonly JsonPatchOp[]): Promise<void> {
    this.patches.push({ kind: 'node', ops });
    return Promise.resolve();
  }
  patchNodeStatus(_name: string, ops: readonly JsonPatchOp[]): Promise<void> {
    this.patches.push({ kind: 'status', ops });
    return Promise.resolve();
  }
}

export interface DemoStack {
  readonly dir: string;
  /** The simulated platform's seed (the confidential-container step launches on the same platform). */
  readonly seed: string;
  readonly cpu: SimCpu;
  readonly rootPem: string;
  readonly pcs: SimPcsServer;
  readonly attestation: AttestationService;
  readonly attestationUrl: string;
  readonly adminToken: string;
  readonly quoteHelper: QuoteHelper;
  readonly provider: SimQuoteProvider;
  readonly aesmSocket: string;
  readonly jsonSocket: string;
  readonly kubelet: KubeletPeer;
  readonly devicePlugin: SgxDevicePlugin;
  readonly epcEndpoint: PluginEndpoint;
  readonly nodeClient: MemoryNodeClient;
  /** The device plugin's metrics (the dashboard of `--keep-running` serves and scrapes them). */
  readonly devicePluginMetrics: DevicePluginMetrics;
  /** FMSPCs of the simulated platforms the PCS serves collateral for. */
  readonly fmspcs: readonly string[];
  close(): Promise<void>;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the attestation service's issuer names it). */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const addr = probe.address();
      probe.close(() => {
        resolve(typeof addr === 'object' && addr !== null ? addr.port : 0);
      });
    });
  });
}

/** Starts every service of the demo. On failure, whatever started is stopped again. */
export async function startDemoStack(options: { seed?: string } = {}): Promise<DemoStack> {
  const dir = await mkdtemp(join(tmpdir(), 'ccnodes-demo-'));
  const closers: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true })];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch {
        // keep closing the rest
      }
    }
    closers.length = 0;
  };
  try {
    const seed = options.seed ?? `demo-${process.pid}-${Date.now()}`;
    // One simulated platform: the CPU (EREPORT/EGETKEY) and its DCAP side (PCK, QE) share a seed.
    const cpu = SimCpu.fromSeed(seed);
    const qe = cpu.launchArchitectural({
      mrEnclave: SIM_QE_MRENCLAVE,
      mrSigner: SIM_QE_MRSIGNER,
      attributes: SIM_QE_ATTRIBUTES,
      isvProdId: SIM_QE_ISVPRODID,
    });
    const dcap = createSimDcap({ seed });
    const pcs = await startSimPcs(dcap, { host: '127.0.0.1', port: 0 });
    closers.push(() => pcs.close());

    // Attestation service: SQLite in the temp dir, simulated root trusted, collateral from the sim PCS.
    const adminToken = Buffer.from(crypto.getRandomValues(new Uint8Array(DEMO_ADMIN_TOKEN_BYTES))).toString(
      'base64url',
    );
    const cache = new CollateralCache({ client: new PcsClient({ baseUrl: pcs.url }) });
    const port = await freePort();
    const attestation = await createAttestationService({
      dataDir: join(dir, 'attestation'),
      // The issuer is the service's own URL, as relying parties (the container launcher) expect.
      publicUrl: `http://127.0.0.1:${port}`,
      simulationMode: true,
      adminToken,
      verifier: createDcapEvidenceVerifier({
        collateral: (request) => cache.get(request.fmspc, request.ca, request.tee),
        trustSimulatedRoot: dcap.rootPem,
      }),
      logger: false,
    });
    closers.push(() => attestation.close());
    const address = await attestation.app.listen({ host: '127.0.0.1', port });

    // Quote helper: AESM socket + JSON API, sim provider checking each report's MAC as the QE would.
    await mkdir(join(dir, 'aesmd'), { recursive: true });
    const aesmSocket = join(dir, 'aesmd', 'aesm.socket');
    const jsonSocket = join(dir, 'aesmd', 'quote-helper.sock');
    const provider = await createSimProvider({
      seed,
      verifyReport: (report) => {
        cpu.verifyReport(qe, report);
      },
      makeQeReport: (target, reportData) => cpu.ereport(qe, target, reportData),
    });
    const quoteHelper = await startQuoteHelper({
      socketPath: aesmSocket,
      jsonSocketPath: jsonSocket,
      provider,
      logger: silentLogger(),
    });
    closers.push(() => quoteHelper.close(100));

    // Device plugin in simulation mode, registered with a kubelet-protocol peer.
    const pluginDir = join(dir, 'device-plugins');
    const devRoot = join(dir, 'dev');
    const sysRoot = join(dir, 'sys');
    await mkdir(pluginDir, { recursive: true });
    await mkdir(devRoot, { recursive: true });
    await mkdir(sysRoot, { recursive: true });
    await writeFile(join(dir, 'README'), 'ccnodes demo scratch directory; removed when the demo exits.\n');
    const kubelet = await KubeletPeer.start(pluginDir);
    closers.push(() => kubelet.stop());
    const nodeClient = new MemoryNodeClient();
    const devicePluginMetrics = new DevicePluginMetrics();
    const devicePlugin = await startSgxDevicePlugin({
      metrics: devicePluginMetrics,
      pluginDir,
      devRoot,
      sysRoot,
      epcMode: 'devices',
      simulate: DEMO_SKU,
      nodeName: DEMO_NODE,
      nodeClient,
      aesmdMount: true,
    });
    closers.push(() => devicePlugin.stop());
    const epcEndpoint = await kubelet.waitForRegistration(RESOURCE_EPC_MIB, 5000);

    return {
      dir,
      seed,
      cpu,
      rootPem: dcap.rootPem,
      pcs,
      attestation,
      attestationUrl: address,
      adminToken,
      quoteHelper,
      provider,
      aesmSocket,
      jsonSocket,
      kubelet,
      devicePlugin,
      epcEndpoint,
      nodeClient,
      devicePluginMetrics,
      fmspcs: dcap.fmspcs,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
