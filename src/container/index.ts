/**
 * `container`: confidential containers: the app manifest, prepare/measure, and the launcher (`ccnodes container`).
 * Other modules import this module only through this file (docs/architecture.md).
 */
export * from './errors.ts';
