/**
 * Quantities for the Kubernetes layer: the shared parser (src/contract/quantity.ts) with its refusals
 * turned into `ERR_KUBE_QUANTITY` naming the field, plus the EPC unit rules of both dialects
 * (`sgx_epc_mem_in_MiB` counts MiB, `sgx.intel.com/epc` counts bytes; bytes → MiB round up). No
 * parsing of its own lives here.
 */
import {
  azureEpcQuantityToMib,
  intelEpcQuantityToMib,
  isNegative,
  readQuantity,
  type Quantity,
} from '../contract/index.ts';
import { KubeInputError } from './errors.ts';

export {
  ceilDiv,
  isWhole,
  mibToAzureQuantity,
  mibToIntelQuantity,
  type Quantity,
} from '../contract/index.ts';

/** Parses a non-negative quantity given as a string or JSON number; `field` names it in errors. */
export function parseQuantity(value: unknown, field: string): Quantity {
  const r = readQuantity(value);
  if (!r.ok) {
    const message =
      r.problem === 'type'
        ? `${field}: expected a quantity string, got ${r.text === '' ? 'nothing' : r.text}`
        : r.problem === 'exponent'
          ? `${field}: exponent in "${r.text}" is out of range`
          : `${field}: "${r.text}" is not a Kubernetes quantity`;
    throw new KubeInputError('ERR_KUBE_QUANTITY', message, { field });
  }
  if (isNegative(r.quantity))
    throw new KubeInputError('ERR_KUBE_QUANTITY', `${field}: "${r.quantity.text}" is negative`, { field });
  return r.quantity;
}

/** EPC MiB asked for by a `sgx.intel.com/epc` (bytes) quantity, rounded up to whole MiB. */
export function intelEpcToMib(value: unknown, field: string): bigint {
  return intelEpcQuantityToMib(parseQuantity(value, field));
}

/** EPC MiB asked for by a `kubernetes.azure.com/sgx_epc_mem_in_MiB` quantity, rounded up to a whole count. */
export function azureEpcToMib(value: unknown, field: string): bigint {
  return azureEpcQuantityToMib(parseQuantity(value, field));
}
