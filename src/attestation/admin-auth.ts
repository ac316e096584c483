/** The admin bearer credential for management calls, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthError } from './errors.ts';

/** Checks `Authorization: Bearer <token>`; with no token configured, management is closed to everyone. */
export function createAdminCheck(
  adminToken: string | undefined,
): (authorization: string | undefined) => void {
  const expected =
    adminToken === undefined ? undefined : createHash('sha256').update(adminToken, 'utf8').digest();
  return (authorization) => {
    if (expected === undefined) {
      throw new AuthError(
        'management calls are disabled: no admin credential is configured on this instance',
      );
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (m === null) throw new AuthError('this call needs an admin bearer token (Authorization: Bearer …)');
    const got = createHash('sha256')
      .update(m[1] ?? '', 'utf8')
      .digest();
    if (!timingSafeEqual(got, expected)) throw new AuthError('the admin bearer token is not valid');
  };
}
