/**
 * k3s and RKE2 end to end, inside a private mount namespace where /etc/rancher, /var/lib/rancher,
 * /run/k3s and /etc/containerd are empty tmpfs, with a real containerd listening where k3s runs it
 * (/run/k3s/containerd/containerd.sock). The usual command line must detect the distribution,
 * write registries.yaml (one explicit entry per bundle registry, never "*"), import through k3s's
 * socket with the pause pinned, write nothing under /etc/containerd or k3s's generated config, say
 * to restart k3s — and the hosts.toml files k3s generates from that registries.yaml must make every
 * bundle image pullable through CRI by its original name from the mirror alone (only lo exists).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { generateImages, startRegistry, type GeneratedImages, type LabRegistry } from '../../../scripts/lab/index.js';
import { bundleFromLayout } from '../../helpers/lab-bundle.js';
import { makeTempDir } from '../../helpers/make-bundle.js';
import { assertNamespaceLab, inMountNamespace } from '../../helpers/mount-namespace.js';
import type { K3sLoadResult } from '../scenarios.js';

const MODULE = fileURLToPath(new URL('../scenarios.js', import.meta.url));
/** A k3s-shaped set: two registries, k3s's own pause. */
const REFS = ['docker.io/rancher/mirrored-pause:3.6', 'docker.io/rancher/mirrored-coredns-coredns:1.12.0', 'registry.k8s.io/metrics-server/metrics-server:v0.7.2'];

for (const flavour of ['k3s', 'rke2'] as const) {
  describe(`${flavour} node: airgap load --registry --containerd --configure-containerd --autoload`, () => {
    let gen: GeneratedImages;
    let reg: LabRegistry | undefined;
    let work: { dir: string; cleanup(): Promise<void> } | undefined;
    let bundle: string;
    let r: K3sLoadResult;

    before(async () => {
      await assertNamespaceLab();
      gen = await generateImages({ scale: 0.01, refs: REFS.map((ref) => ({ ref })) });
      work = await makeTempDir(`airgap-${flavour}-e2e-`);
      bundle = (await bundleFromLayout(gen.layoutDir, join(work.dir, 'images.tar'))).path;
      reg = await startRegistry();
      r = await inMountNamespace<K3sLoadResult>({
        tmpfs: ['/etc/rancher', '/var/lib/rancher', '/run/k3s', '/etc/containerd'],
        module: MODULE,
        fn: 'k3sLoad',
        arg: {
          flavour,
          bundle,
          registryUrl: reg.url,
          refs: REFS,
          sandboxImage: 'docker.io/rancher/mirrored-pause:3.6',
          // The user's own registries.yaml: its other entries and comments must survive.
          registriesYaml: '# my registries\nmirrors:\n  ghcr.io:\n    endpoint:\n      - "https://ghcr-mirror.corp"\nconfigs:\n  ghcr-mirror.corp:\n    auth:\n      username: me\n      password: secret\n',
        },
        timeoutMs: 170_000,
      });
    });
    after(async () => {
      await reg?.stop();
      await work?.cleanup();
    });

    it('detects the distribution and says why', () => {
      assert.equal(r.first.exitCode, 0, r.first.stderr + r.first.stdout);
      assert.match(r.first.stdout, new RegExp(`node +${flavour === 'k3s' ? 'k3s' : 'RKE2'} \\(detected: file /etc/rancher/${flavour}/config.yaml`));
      const node = r.events.find((e) => e.event === 'node');
      assert.equal(node?.distribution, flavour);
      assert.equal(node?.source, 'detected');
      assert.equal(node?.containerdSocket, '/run/k3s/containerd/containerd.sock');
    });

    it('writes one explicit mirror entry per bundle registry into registries.yaml, keeps the user\'s, never "*"', () => {
      assert.ok(r.registriesYaml !== null);
      assert.match(r.registriesYaml!, /^# my registries/);
      const doc = parseYaml(r.registriesYaml!) as { mirrors: Record<string, { endpoint: string[] }>; configs: Record<string, unknown> };
      assert.deepEqual(Object.keys(doc.mirrors).sort(), ['docker.io', 'ghcr.io', 'registry.k8s.io']);
      assert.deepEqual(doc.mirrors['docker.io']!.endpoint, [`${reg!.url}/v2/docker.io`]);
      assert.deepEqual(doc.mirrors['registry.k8s.io']!.endpoint, [`${reg!.url}/v2/registry.k8s.io`]);
      assert.deepEqual(doc.mirrors['ghcr.io']!.endpoint, ['https://ghcr-mirror.corp']);
      assert.deepEqual(doc.configs, { 'ghcr-mirror.corp': { auth: { username: 'me', password: 'secret' } } });
      assert.ok(!('*' in doc.mirrors));
    });

    it('imports every image through k3s\'s socket with the pause pinned', () => {
      const names = r.imagesAfterLoad.map((i) => i.name).sort();
      assert.deepEqual(names, [...REFS].sort());
      for (const img of gen.images) {
        const got = r.imagesAfterLoad.find((i) => i.name === img.ref);
        assert.equal(got?.digest, img.digest, img.ref);
      }
      assert.equal(r.imagesAfterLoad.find((i) => i.name === REFS[0])?.pinned, true, 'pause pinned');
      assert.equal(r.imagesAfterLoad.filter((i) => i.pinned).length, 1);
    });

    it('writes nothing under /etc/containerd or into the containerd config k3s generates', () => {
      assert.deepEqual(r.etcContainerd, []);
      assert.equal(r.generatedConfigAfter, r.generatedConfigBefore);
      assert.doesNotMatch(r.first.stdout + r.first.stderr, /(^|[\s(])\/etc\/containerd/m);
    });

    it('says to restart the distribution, and a second run changes nothing', () => {
      assert.match(r.first.stdout, new RegExp(`Restart ${flavour === 'k3s' ? 'k3s' : 'RKE2'} so it reads the new configuration: systemctl restart ${flavour === 'k3s' ? 'k3s' : 'rke2-server'}`));
      assert.equal(r.second.exitCode, 0, r.second.stderr);
      const summary = r.events.find((e) => e.event === 'summary')?.summary as { changed: boolean };
      assert.equal(summary.changed, false);
    });

    it('places the bundle in agent/images (copied across file systems), for imports at every start; the second run finds it there', () => {
      assert.deepEqual(r.autoload, { path: `/var/lib/rancher/${flavour}/agent/images/images.tar`, sameContent: true });
      assert.match(r.first.stdout, /autoload +placed +\/var\/lib\/rancher\/.*images\.tar \(copy\)/);
      const a = r.events.find((e) => e.event === 'autoload');
      assert.equal(a?.status, 'present');
    });

    it('the hosts.toml k3s generates from it serve every bundle image by its original name, from the mirror alone', () => {
      // k3s writes a directory for every mirror and every configs entry (the user's ghcr-mirror.corp auth too).
      assert.deepEqual(Object.keys(r.hostsFiles).sort(), ['docker.io', 'ghcr-mirror.corp', 'ghcr.io', 'registry.k8s.io']);
      assert.match(r.hostsFiles['registry.k8s.io']!, /override_path = true/);
      for (const p of r.pulls) {
        assert.equal(p.error, undefined, `${p.image}: ${p.error}`);
        const img = gen.images.find((i) => i.ref === p.image)!;
        const repo = p.image.slice(0, p.image.lastIndexOf(':'));
        assert.deepEqual(p.repoDigests, [`${repo}@${img.digest}`], p.image);
      }
      assert.equal(r.pulls.length, REFS.length);
    });
  });
}
