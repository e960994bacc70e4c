/**
 * The real hand-over: a bundle made by `airgap pack` (not a test-built one) loaded by `airgap load`
 * into an empty node registry. pack lists upstream Docker manifest lists as OCI indexes in
 * index.json (skopeo needs that); load must still push each manifest as what it is, and the node
 * registry must end up serving exactly the upstream digests. Run inside `unshare -n`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { digestOf } from '../../src/oci/digest.js';
import { skopeoRegistryFlags, startRegistry, type GeneratedImages, type LabRegistry } from '../../scripts/lab/index.js';
import { runCli, startSeededLab, type SeededLab } from '../helpers/node-lab.js';

let lab: SeededLab;
let work: string;
let gen: GeneratedImages;
let upstream: LabRegistry;
let node: LabRegistry;

before(async () => {
  lab = await startSeededLab('airgap-pack-load-');
  ({ work, gen, upstream } = lab);
  node = await startRegistry();
});
after(async () => {
  await node?.stop();
  await lab?.stop();
});

test('a packed bundle loads into an empty registry with every upstream digest, Docker lists included', async () => {
  assert.ok(gen.images.some((i) => i.mediaType.includes('docker')), 'the generated set has Docker manifest lists');
  const bundle = join(work, 'k8s.tar');
  const packed = await runCli(['pack', '--kubernetes', 'v1.30.14', '--platform', 'all', '--registry-mirror', `registry.k8s.io=${upstream.url}/registry.k8s.io`, '-o', bundle]);
  assert.equal(packed.exitCode, 0, packed.stderr);

  const loaded = await runCli(['load', bundle, '--registry', node.url]);
  assert.equal(loaded.exitCode, 0, `${loaded.stdout}\n${loaded.stderr}`);

  const flags = await skopeoRegistryFlags(node, undefined, work);
  for (const img of gen.images) {
    const res = await execa('skopeo', ['inspect', '--raw', ...flags, `docker://${node.host}/${img.registry}/${img.repository}:${img.tag}`], { encoding: 'buffer', stdin: 'ignore' });
    const bytes = Buffer.from(res.stdout);
    assert.equal(digestOf(bytes), img.digest, `${img.ref} is served with its upstream digest`);
    assert.equal(JSON.parse(bytes.toString()).mediaType, img.mediaType, `${img.ref} keeps its upstream media type`);
  }

  const again = await runCli(['load', bundle, '--registry', node.url]);
  assert.equal(again.exitCode, 0, again.stderr);
  assert.match(again.stdout, /Nothing changed/);
});
