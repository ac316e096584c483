/**
 * How much EPC can be served as one device per MiB (DESIGN.md §3, spec §1.6).
 *
 * Kubelet reads ListAndWatch with grpc-go's default 4 MiB receive limit, and every message carries
 * the complete device list. We compute the exact protobuf size of a `ListAndWatchResponse` with N
 * devices whose IDs are the decimal strings "0".."N-1", assuming every device is `Unhealthy` (the
 * longer health string), so that a health change can never push a served list over the limit.
 */
import { DevicePluginConfigError } from './errors.ts';

/** grpc-go's (and grpc-js's) default maximum received message size: 4 MiB. */
export const KUBELET_MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;

/** EPC advertisement modes of `--epc-mode`. */
export type EpcMode = 'auto' | 'devices' | 'capacity';
export const EPC_MODES: readonly EpcMode[] = ['auto', 'devices', 'capacity'];

/** Bytes a protobuf varint of `n` takes. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size += 1;
  }
  return size;
}

/** Encoded size of one length-delimited field with a 1-byte tag (field numbers < 16). */
function lengthDelimited(payload: number): number {
  return 1 + varintSize(payload) + payload;
}

/** Encoded size of `Device{ID, health}` (no topology) as an element of `ListAndWatchResponse.devices`. */
export function deviceEntrySize(id: string, health: string): number {
  const body = lengthDelimited(Buffer.byteLength(id)) + lengthDelimited(Buffer.byteLength(health));
  return lengthDelimited(body);
}

/**
 * Walks the decimal-digit groups of the IDs "0".."count-1": all IDs with d digits have the same entry
 * size. Calls `group(first, n, entry)` for each group, in order.
 */
function forEachDigitGroup(
  count: number,
  health: string,
  group: (first: number, n: number, entry: number) => boolean,
): void {
  let first = 0;
  for (let digits = 1; first < count; digits++) {
    const end = Math.min(count, 10 ** digits);
    const entry = deviceEntrySize(String(first), health);
    if (!group(first, end - first, entry)) return;
    first = end;
  }
}

/** Encoded size of a ListAndWatchResponse of `count` devices "0".."count-1", all with `health`. */
export function epcListSize(count: number, health = 'Unhealthy'): number {
  let total = 0;
  forEachDigitGroup(count, health, (_first, n, entry) => {
    total += n * entry;
    return true;
  });
  return total;
}

/** The largest EPC (in MiB, = devices) whose worst-case list fits `limit` (default 4 MiB). */
export function maxDeviceModeEpcMib(limit = KUBELET_MAX_RECEIVE_MESSAGE_BYTES): number {
  let total = 0;
  let max = 0;
  forEachDigitGroup(Number.MAX_SAFE_INTEGER, 'Unhealthy', (first, n, entry) => {
    const fit = Math.min(n, Math.floor((limit - total) / entry));
    total += fit * entry;
    max = first + fit;
    return fit === n;
  });
  return max;
}

/**
 * Resolves `--epc-mode` for a node with `epcMib` MiB of EPC: `auto` serves devices while they fit and
 * node capacity beyond; `devices` refuses sizes that do not fit (`ERR_DEVICE_PLUGIN_EPC_TOO_LARGE`).
 */
export function resolveEpcMode(mode: EpcMode, epcMib: number): 'devices' | 'capacity' {
  const max = maxDeviceModeEpcMib();
  if (mode === 'capacity') return 'capacity';
  if (epcMib <= max) return 'devices';
  if (mode === 'auto') return 'capacity';
  throw new DevicePluginConfigError(
    'ERR_DEVICE_PLUGIN_EPC_TOO_LARGE',
    `--epc-mode devices: ${epcMib} MiB of EPC would need a ${epcListSize(epcMib)}-byte ListAndWatch message, over kubelet's ${KUBELET_MAX_RECEIVE_MESSAGE_BYTES}-byte limit (at most ${max} MiB fit); use --epc-mode auto or capacity`,
    { option: 'epc-mode', epcMib, maxDeviceModeEpcMib: max },
  );
}

/** Parses `--epc-mode`. */
export function parseEpcMode(value: string): EpcMode {
  if ((EPC_MODES as readonly string[]).includes(value)) return value as EpcMode;
  throw new DevicePluginConfigError(
    'ERR_DEVICE_PLUGIN_OPTION',
    `--epc-mode: ${JSON.stringify(value)} is not one of ${EPC_MODES.join(', ')}`,
    { option: 'epc-mode', value },
  );
}
