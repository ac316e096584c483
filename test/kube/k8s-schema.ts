/** Validates plain Kubernetes objects against the API schemas of the `kubernetes-models` package. */
import * as coreV1 from 'kubernetes-models/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as admissionV1 from 'kubernetes-models/admissionregistration.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';

type Model = new (data: never) => { validate(): void };

const MODULES: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'batch/v1': batchV1,
  'rbac.authorization.k8s.io/v1': rbacV1,
  'admissionregistration.k8s.io/v1': admissionV1,
  'policy/v1': policyV1,
  'autoscaling/v2': autoscalingV2,
};

/** Throws (naming the object) when `obj` does not validate, or when its kind has no schema here. */
export function validateK8sObject(obj: {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown };
}): void {
  const mod = MODULES[String(obj.apiVersion)];
  const Ctor = mod?.[String(obj.kind)] as Model | undefined;
  if (Ctor === undefined) throw new Error(`no schema for ${String(obj.apiVersion)} ${String(obj.kind)}`);
  try {
    new Ctor(obj as never).validate();
  } catch (err) {
    throw new Error(
      `${String(obj.kind)} ${String(obj.metadata?.name)}: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
}
