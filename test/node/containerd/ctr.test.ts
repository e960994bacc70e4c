import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { findCtr, findSocket, parseImageList } from '../../../src/node/containerd/ctr.js';

const dir = await mkdtemp(join(tmpdir(), 'airgap-load-ctr-'));
after(() => rm(dir, { recursive: true, force: true }));

test('ctr images ls output: name, type, digest and labels (the size column holds a space)', () => {
  // As containerd 1.6's ctr prints it.
  const text = [
    'REF                                     TYPE                                                 DIGEST                                                                  SIZE    PLATFORMS               LABELS                                                          ',
    `registry.k8s.io/pause:3.9               application/vnd.oci.image.index.v1+json              sha256:${'a'.repeat(64)} 3.1 KiB linux/amd64,linux/arm64 io.cri-containerd.image=managed,io.cri-containerd.pinned=pinned `,
    `registry.k8s.io/etcd:3.5.15-0           application/vnd.docker.distribution.manifest.v2+json sha256:${'b'.repeat(64)} 5.5 MiB linux/amd64             -                                                               `,
    '',
  ].join('\n');
  assert.deepEqual(parseImageList(text), [
    {
      name: 'registry.k8s.io/pause:3.9',
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest: `sha256:${'a'.repeat(64)}`,
      labels: { 'io.cri-containerd.image': 'managed', 'io.cri-containerd.pinned': 'pinned' },
    },
    { name: 'registry.k8s.io/etcd:3.5.15-0', mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: `sha256:${'b'.repeat(64)}`, labels: {} },
  ]);
});

test('which ctr: the one of k3s or k0s when the socket is theirs, else ctr on PATH, else theirs', async () => {
  const bin = join(dir, 'bin');
  const only = join(dir, 'only-k0s');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(bin);
  await mkdir(only);
  for (const [d, name] of [[bin, 'ctr'], [bin, 'k3s'], [only, 'k0s']] as const) {
    await writeFile(join(d, name), '#!/bin/sh\nexit 0\n');
    await chmod(join(d, name), 0o755);
  }
  const saved = process.env.PATH;
  try {
    process.env.PATH = bin;
    assert.deepEqual(await findCtr('/run/k3s/containerd/containerd.sock'), { argv: [join(bin, 'k3s'), 'ctr'], label: 'k3s ctr' });
    assert.deepEqual(await findCtr('/run/containerd/containerd.sock'), { argv: [join(bin, 'ctr')], label: 'ctr' });
    process.env.PATH = only;
    assert.deepEqual(await findCtr('/run/containerd/containerd.sock'), { argv: [join(only, 'k0s'), 'ctr'], label: 'k0s ctr' });
    process.env.PATH = join(dir, 'nowhere');
    await assert.rejects(findCtr('/run/containerd/containerd.sock'), (e: Error & { code?: string; kind?: string }) => e.code === 'ERR_CTR_NOT_FOUND' && e.kind === 'runtime');
    assert.deepEqual(await findCtr('/x.sock', ['k3s', 'ctr']), { argv: ['k3s', 'ctr'], label: 'k3s ctr' });
  } finally {
    process.env.PATH = saved;
  }
});

test('a given socket must exist; a missing one is a containerd error (exit 6), said at once', async () => {
  await assert.rejects(findSocket(join(dir, 'missing.sock')), (e: Error & { code?: string; kind?: string }) => e.code === 'ERR_CONTAINERD_SOCKET' && e.kind === 'runtime');
  const sock = join(dir, 's.sock');
  const server = createServer().listen(sock);
  await new Promise((r) => server.once('listening', r));
  try {
    assert.equal(await findSocket(sock), sock);
  } finally {
    server.close();
  }
});
