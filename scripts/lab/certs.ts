import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

/** PEM files made with the openssl CLI (EC P-256: fast to generate, understood by Go and Node). */
export interface CertFiles {
  certFile: string;
  keyFile: string;
  /** The certificate, PEM. */
  certPem: string;
}

const DAYS = '7';

async function openssl(args: string[], cwd: string): Promise<void> {
  await execa('openssl', args, { cwd, stdin: 'ignore' });
}

/** A throwaway certificate authority, valid for a week. */
export async function makeCa(dir: string, name = 'airgap-lab-ca'): Promise<CertFiles> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await openssl(
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', DAYS, '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return { certFile, keyFile, certPem: await readFile(certFile, 'utf8') };
}

/** A server certificate signed by `ca` for 127.0.0.1 and localhost (Go clients require the IP SAN). */
export async function makeServerCert(
  dir: string,
  ca: CertFiles,
  opts: { name?: string; sans?: string[] } = {},
): Promise<CertFiles> {
  const name = opts.name ?? 'server';
  const sans = opts.sans ?? ['IP:127.0.0.1', 'DNS:localhost'];
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  await openssl(
    [
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', csrFile, '-subj', `/CN=${sans.find((s) => s.startsWith('DNS:'))?.slice(4) ?? name}`,
    ],
    dir,
  );
  await writeFile(
    extFile,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${sans.join(',')}`,
      '',
    ].join('\n'),
  );
  await openssl(
    [
      'x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial',
      '-out', certFile, '-days', DAYS, '-sha256', '-extfile', extFile,
    ],
    dir,
  );
  return { certFile, keyFile, certPem: await readFile(certFile, 'utf8') };
}

/** A self-signed certificate for a signing key (the token server's JWT key). */
export async function makeSelfSignedCert(dir: string, name: string): Promise<CertFiles> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await openssl(
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', DAYS, '-subj', `/CN=${name}`,
    ],
    dir,
  );
  return { certFile, keyFile, certPem: await readFile(certFile, 'utf8') };
}
