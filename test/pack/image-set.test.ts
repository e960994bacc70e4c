import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { ImageListMismatchError, NoImagesError } from '../../src/pack/errors.js';
import { buildImageSet } from '../../src/pack/image-set.js';
import { KUBEADM_V1_30_14_REFS } from '../helpers/kubeadm-images.js';
import { tempDir } from './helpers.js';

describe('buildImageSet and the list check', () => {
  it('is the kubeadm set (pause included) plus --image and --images-file, each once, sorted', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'extra.txt');
    await writeFile(file, '# extras\nnginx:1.27\nregistry.k8s.io/pause:3.9\n');
    const set = await buildImageSet({ kubernetes: 'v1.30.14', images: ['quay.io/cilium/cilium:v1.15.0'], imagesFiles: [file] });
    assert.deepEqual(
      set.images.map((i) => i.name),
      [...KUBEADM_V1_30_14_REFS, 'docker.io/library/nginx:1.27', 'quay.io/cilium/cilium:v1.15.0'].sort(),
    );
    const pause = set.images.find((i) => i.name === 'registry.k8s.io/pause:3.9')!;
    assert.equal(pause.role, 'pause');
    assert.deepEqual(pause.origins, ['kubernetes', 'images-file']);
    assert.equal(set.images.find((i) => i.name.includes('nginx'))!.role, 'extra');
  });

  it('refuses a list with another pause tag, naming both tags, before anything else (exit 1)', async (t) => {
    const dir = await tempDir(t);
    const list = join(dir, 'airgap-images-list.txt');
    await writeFile(list, `${KUBEADM_V1_30_14_REFS.filter((r) => !r.includes('pause')).join('\n')}\nregistry.k8s.io/pause:3.8\n`);
    await assert.rejects(buildImageSet({ kubernetes: 'v1.30.14', list }), (e: unknown) => {
      assert.ok(e instanceof ImageListMismatchError);
      assert.match(e.message, /registry\.k8s\.io\/pause:3\.8 \(line 7\)/);
      assert.match(e.message, /needs registry\.k8s\.io\/pause:3\.9/);
      assert.match(e.message, /v1\.30\.14/);
      assert.equal(e.code, 'ERR_LIST_MISMATCH');
      assert.equal(exitCodeFor(e.kind), 1);
      assert.deepEqual(e.mismatches.map((m) => [m.listRef, m.neededRef, m.role]), [
        ['registry.k8s.io/pause:3.8', 'registry.k8s.io/pause:3.9', 'pause'],
      ]);
      return true;
    });
  });

  it('packs every image of a matching list and reports what it adds beyond it', async (t) => {
    const dir = await tempDir(t);
    const list = join(dir, 'airgap-images-list.txt');
    // The list lacks etcd (we add it) and holds calico (Kubernetes does not need it: packed too).
    await writeFile(list, `${KUBEADM_V1_30_14_REFS.filter((r) => !r.includes('etcd')).join('\n')}\ndocker.io/calico/node:v3.28.0\n`);
    const set = await buildImageSet({ kubernetes: 'v1.30.14', list, images: ['nginx:1.27'] });
    assert.ok(set.images.some((i) => i.name === 'docker.io/calico/node:v3.28.0'));
    assert.deepEqual(set.list?.addedBeyondList, ['docker.io/library/nginx:1.27', 'registry.k8s.io/etcd:3.5.15-0']);
    assert.deepEqual(set.list?.notInKubernetes, ['docker.io/calico/node:v3.28.0']);
    assert.deepEqual(set.notices.map((n) => n.code), ['LIST_ADDED', 'LIST_EXTRA']);
  });

  it('needs something to pack', async () => {
    await assert.rejects(buildImageSet({}), NoImagesError);
  });
});
