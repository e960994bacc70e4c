import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, X509Certificate } from 'node:crypto';

/**
 * JWTs the way distribution 2.8 verifies them (registry/auth/token/token.go, VerifySigningKey):
 * the header names the signing key by one of
 *  - `x5c`: a certificate chain that must verify up to a cert in `auth.token.rootcertbundle`
 *    (a self-signed cert that is itself in the bundle is a chain of one), or
 *  - `kid`: a libtrust key ID, looked up among the public keys of the bundle's certificates.
 * Both work with this registry; the lab does both so clients are tested against either.
 * ES256 signatures are r||s (JOSE), not DER.
 */
export type KeyHeaderStyle = 'x5c' | 'kid';

export interface JwtSigner {
  sign(claims: Record<string, unknown>): string;
  /** The libtrust key ID of the signing key. */
  readonly keyId: string;
}

export function b64url(buf: Buffer | string): string {
  return Buffer.from(buf).toString('base64url');
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32NoPad(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** libtrust's key ID: the first 240 bits of sha256(DER SPKI), base32, in 12 groups of 4. */
export function libtrustKeyId(spkiDer: Buffer): string {
  const enc = base32NoPad(createHash('sha256').update(spkiDer).digest().subarray(0, 30));
  return enc.match(/.{4}/g)!.join(':');
}

export function createSigner(keyPem: string, certPem: string, style: KeyHeaderStyle): JwtSigner {
  const key = createPrivateKey(keyPem);
  const cert = new X509Certificate(certPem);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const keyId = libtrustKeyId(spki);
  const header =
    style === 'x5c'
      ? { typ: 'JWT', alg: 'ES256', x5c: [cert.raw.toString('base64')] }
      : { typ: 'JWT', alg: 'ES256', kid: keyId };
  const encodedHeader = b64url(JSON.stringify(header));
  return {
    keyId,
    sign(claims) {
      const input = `${encodedHeader}.${b64url(JSON.stringify(claims))}`;
      const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
      return `${input}.${b64url(sig)}`;
    },
  };
}

export function randomId(): string {
  return randomBytes(12).toString('hex');
}
