/** The app manifest schema: defaults, strictness, and errors that name the field. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  canonicalManifest,
  ContainerManifestError,
  globToRegExp,
  parseManifest,
  validateManifest,
} from '../../src/container/index.ts';

const minimal = { name: 'app', entrypoint: ['node', 'main.js'], trustedFiles: ['main.js'] };

function fieldOf(input: unknown): string {
  try {
    validateManifest(input);
  } catch (err) {
    assert.ok(err instanceof ContainerManifestError, String(err));
    assert.equal(err.code, 'ERR_CONTAINER_MANIFEST');
    assert.ok(err.message.startsWith(`${String(err.details['field'])}:`), err.message);
    return String(err.details['field']);
  }
  assert.fail('accepted');
}

test('a minimal manifest gets its defaults', () => {
  const m = validateManifest(minimal);
  assert.equal(m.workingDir, '.');
  assert.deepEqual(m.env, { passThrough: [], set: {} });
  assert.deepEqual(m.secrets, []);
  assert.equal(m.sealedState, undefined);
  assert.equal(m.isvProdId, 0);
  assert.equal(m.epcMiB, 64);
});

test('YAML and JSON give the same manifest; bad syntax is ERR_CONTAINER_MANIFEST_SYNTAX', () => {
  const yaml = 'name: app\nentrypoint: [node, main.js]\ntrustedFiles: [main.js]\n';
  assert.deepEqual(parseManifest(yaml), parseManifest(JSON.stringify(minimal)));
  assert.throws(() => parseManifest('name: [unclosed'), { code: 'ERR_CONTAINER_MANIFEST_SYNTAX' });
});

test('every invalid field is named', () => {
  const cases: [unknown, string][] = [
    [[], '(root)'],
    [{ ...minimal, extra: 1 }, 'extra'],
    [{ ...minimal, name: '../x' }, 'name'],
    [{ ...minimal, entrypoint: [] }, 'entrypoint'],
    [{ ...minimal, entrypoint: 'node main.js' }, 'entrypoint'],
    [{ ...minimal, entrypoint: ['node', 7] }, 'entrypoint[1]'],
    [{ ...minimal, trustedFiles: [] }, 'trustedFiles'],
    [{ ...minimal, trustedFiles: ['../etc/passwd'] }, 'trustedFiles[0]'],
    [{ ...minimal, trustedFiles: ['/abs'] }, 'trustedFiles[0]'],
    [{ ...minimal, trustedFiles: ['a/[bc]'] }, 'trustedFiles[0]'],
    [{ ...minimal, trustedFiles: ['a', 'a'] }, 'trustedFiles[1]'],
    [{ ...minimal, env: { passThrough: ['1BAD'] } }, 'env.passThrough[0]'],
    [{ ...minimal, env: { set: { A: 1 } } }, 'env.set.A'],
    [{ ...minimal, env: { other: [] } }, 'env.other'],
    [{ ...minimal, env: { set: { CCNODES_PRIVATE_DIR: 'x' } } }, 'env.set.CCNODES_PRIVATE_DIR'],
    [{ ...minimal, secrets: [{ name: 's' }] }, 'secrets[0]'],
    [{ ...minimal, secrets: [{ name: 's', env: 'A', file: 'f' }] }, 'secrets[0]'],
    [{ ...minimal, secrets: [{ name: 's s', env: 'A' }] }, 'secrets[0].name'],
    [{ ...minimal, secrets: [{ name: 's', file: '../k' }] }, 'secrets[0].file'],
    [{ ...minimal, secrets: [{ name: 's', env: 'A', mode: 1 }] }, 'secrets[0].mode'],
    [
      {
        ...minimal,
        secrets: [
          { name: 's', env: 'A' },
          { name: 't', env: 'A' },
        ],
      },
      'secrets[1].env',
    ],
    [{ ...minimal, env: { set: { A: 'x' } }, secrets: [{ name: 't', env: 'A' }] }, 'secrets[0].env'],
    [{ ...minimal, encryptedInputs: [{ path: 'a', keySecret: 'k' }] }, 'encryptedInputs[0].file'],
    [
      {
        ...minimal,
        secrets: [{ name: 's', file: 'x' }],
        encryptedInputs: [{ path: 'a', keySecret: 'k', file: 'x' }],
      },
      'encryptedInputs[0].file',
    ],
    [{ ...minimal, sealedState: { dir: 'st', policy: 'MRFOO' } }, 'sealedState.policy'],
    [{ ...minimal, sealedState: { policy: 'MRSIGNER' } }, 'sealedState.dir'],
    [{ ...minimal, secrets: [{ name: 's', file: 'sealed-state/x' }] }, 'secrets[0].file'],
    [{ ...minimal, attestation: { url: 'ftp://x' } }, 'attestation.url'],
    [{ ...minimal, attestation: { pinnedKeys: ['zz'] } }, 'attestation.pinnedKeys[0]'],
    [{ ...minimal, attestation: { pinnedKeys: [] } }, 'attestation.pinnedKeys'],
    [{ ...minimal, attestation: { token: 'x' } }, 'attestation.token'],
    [{ ...minimal, isvProdId: 70000 }, 'isvProdId'],
    [{ ...minimal, isvSvn: -1 }, 'isvSvn'],
    [{ ...minimal, epcMiB: 0 }, 'epcMiB'],
  ];
  for (const [input, field] of cases) assert.equal(fieldOf(input), field, JSON.stringify(input));
});

test('the canonical manifest is key-order independent, has defaults filled in and leaves out attestation.url', () => {
  const a = validateManifest({ ...minimal, attestation: { url: 'http://a.example' }, isvSvn: 0 });
  const b = validateManifest({
    trustedFiles: ['main.js'],
    entrypoint: ['node', 'main.js'],
    name: 'app',
    attestation: { url: 'http://b.example' },
  });
  assert.equal(canonicalManifest(a), canonicalManifest(b));
  assert.ok(!canonicalManifest(a).includes('a.example'));
  assert.notEqual(canonicalManifest(a), canonicalManifest(validateManifest({ ...minimal, isvSvn: 1 })));
  assert.notEqual(
    canonicalManifest(a),
    canonicalManifest(validateManifest({ ...minimal, attestation: { pinnedKeys: ['ab'.repeat(32)] } })),
  );
});

test('globs: * and ? stay inside a segment, ** spans segments', () => {
  assert.ok(globToRegExp('*.js').test('a.js'));
  assert.ok(!globToRegExp('*.js').test('lib/a.js'));
  assert.ok(globToRegExp('lib/**/*.js').test('lib/a.js'));
  assert.ok(globToRegExp('lib/**/*.js').test('lib/x/y/a.js'));
  assert.ok(globToRegExp('lib/**').test('lib/x/y'));
  assert.ok(globToRegExp('a?.txt').test('ab.txt'));
  assert.ok(!globToRegExp('a?.txt').test('a/.txt'));
  assert.ok(!globToRegExp('a.b').test('axb'), 'dots are literal');
});
