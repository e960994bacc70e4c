/** Applying planned file changes: atomic, with backups, refusing files changed since planning, undoing a failed batch. */
import assert from 'node:assert/strict';
import { chmod, lstat, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { NodeConfigError } from '../../src/node/errors.js';
import { applyFileChanges, proposeChange, type FileChange } from '../../src/node/file-change.js';
import { withRoot } from './fake-root.js';

const NOW = new Date('2025-01-02T03:04:05.678Z');

test('an update is written in place, its old content kept as <file>.airgap-backup-<time>', async () => {
  await withRoot({ 'etc/app/config.yaml': 'old: true\n' }, async (r) => {
    const file = r.path('etc/app/config.yaml');
    await chmod(file, 0o600);
    const change = await proposeChange(file, 'new: true\n', 'test', 'registries');
    assert.ok(change);
    assert.equal(change.kind, 'update');
    assert.equal(change.before, 'old: true\n');
    const [applied] = await applyFileChanges([change], { now: NOW });
    assert.equal(await readFile(file, 'utf8'), 'new: true\n');
    assert.equal(applied!.backup, `${file}.airgap-backup-20250102T030405Z`);
    assert.equal(await readFile(applied!.backup!, 'utf8'), 'old: true\n');
    assert.equal((await stat(file)).mode & 0o7777, 0o600, 'the file keeps its mode');
    // No temp file left behind; only the file and its backup.
    assert.deepEqual((await readdir(r.path('etc/app'))).sort(), ['config.yaml', 'config.yaml.airgap-backup-20250102T030405Z']);
    assert.match(applied!.diff, /^-old: true$/m);
    assert.match(applied!.diff, /^\+new: true$/m);
  });
});

test('a second backup at the same time gets a fresh name', async () => {
  await withRoot({ 'f.txt': 'a\n' }, async (r) => {
    const file = r.path('f.txt');
    const [one] = await applyFileChanges([(await proposeChange(file, 'b\n', 't', 'hosts'))!], { now: NOW });
    const [two] = await applyFileChanges([(await proposeChange(file, 'c\n', 't', 'hosts'))!], { now: NOW });
    assert.notEqual(one!.backup, two!.backup);
    assert.equal(await readFile(one!.backup!, 'utf8'), 'a\n');
    assert.equal(await readFile(two!.backup!, 'utf8'), 'b\n');
  });
});

test('a create makes missing directories (0755) and the file (0644), with no backup', async () => {
  await withRoot({}, async (r) => {
    const file = r.path('etc/containerd/certs.d/docker.io/hosts.toml');
    const change = await proposeChange(file, 'server = "x"\n', 't', 'hosts');
    assert.equal(change!.kind, 'create');
    const [applied] = await applyFileChanges([change!]);
    assert.equal(applied!.backup, undefined);
    assert.equal(await readFile(file, 'utf8'), 'server = "x"\n');
    assert.equal((await stat(file)).mode & 0o777, 0o644);
    assert.equal((await stat(r.path('etc/containerd/certs.d/docker.io'))).mode & 0o777, 0o755);
    assert.equal(await proposeChange(file, 'server = "x"\n', 't', 'hosts'), undefined, 'nothing to change the second time');
  });
});

test('a file changed after planning: ERR_NODE_CONFIG_CHANGED, nothing else written', async () => {
  await withRoot({ 'a.yaml': 'a0\n', 'b.yaml': 'b0\n' }, async (r) => {
    const a = (await proposeChange(r.path('a.yaml'), 'a1\n', 't', 'hosts'))!;
    const b = (await proposeChange(r.path('b.yaml'), 'b1\n', 't', 'registries'))!;
    const c = (await proposeChange(r.path('new/c.yaml'), 'c1\n', 't', 'registries'))!;
    await writeFile(r.path('a.yaml'), 'someone else\n');
    await assert.rejects(applyFileChanges([a, b, c]), (e: unknown) => {
      assert.ok(e instanceof NodeConfigError);
      assert.equal(e.code, 'ERR_NODE_CONFIG_CHANGED');
      assert.ok(e.message.includes(r.path('a.yaml')));
      return true;
    });
    assert.equal(await r.read('a.yaml'), 'someone else\n');
    assert.equal(await r.read('b.yaml'), 'b0\n');
    assert.equal(await r.read('new/c.yaml'), null);
    assert.deepEqual((await readdir(r.dir)).sort(), ['a.yaml', 'b.yaml']);
  });
});

test('a later file changed after planning: the earlier ones are put back', async () => {
  await withRoot({ 'a.yaml': 'a0\n', 'b.yaml': 'b0\n' }, async (r) => {
    const created = (await proposeChange(r.path('d/new.yaml'), 'n\n', 't', 'hosts'))!;
    const a = (await proposeChange(r.path('a.yaml'), 'a1\n', 't', 'hosts'))!;
    const b = (await proposeChange(r.path('b.yaml'), 'b1\n', 't', 'registries'))!;
    await writeFile(r.path('b.yaml'), 'edited meanwhile\n');
    await assert.rejects(applyFileChanges([created, a, b]), { code: 'ERR_NODE_CONFIG_CHANGED' });
    assert.equal(await r.read('d/new.yaml'), null);
    assert.equal(await r.read('a.yaml'), 'a0\n');
    assert.equal(await r.read('b.yaml'), 'edited meanwhile\n');
  });
});

test('a change through a symlink writes the target and leaves the link a link', async () => {
  await withRoot({ 'data/registries.yaml': 'mirrors: {}\n' }, async (r) => {
    const link = r.path('etc/registries.yaml');
    await r.mkdir('etc');
    await symlink('../data/registries.yaml', link);
    const change = (await proposeChange(link, 'mirrors:\n  docker.io: {}\n', 't', 'registries'))!;
    assert.equal(change.before, 'mirrors: {}\n');
    const [applied] = await applyFileChanges([change], { now: NOW });
    assert.ok((await lstat(link)).isSymbolicLink(), 'still a symlink');
    assert.equal(await readlink(link), '../data/registries.yaml');
    assert.equal(await r.read('data/registries.yaml'), 'mirrors:\n  docker.io: {}\n');
    assert.ok(applied!.backup);
    assert.equal(await readFile(applied!.backup!, 'utf8'), 'mirrors: {}\n');
  });
});

test('a dry run writes nothing and returns the diffs', async () => {
  await withRoot({ 'a.yaml': 'x: 1\n' }, async (r) => {
    const a = (await proposeChange(r.path('a.yaml'), 'x: 2\n', 't', 'registries'))!;
    const b = (await proposeChange(r.path('sub/b.yaml'), 'y: 1\n', 't', 'registries'))!;
    const out = await applyFileChanges([a, b], { dryRun: true });
    assert.equal(out.length, 2);
    assert.match(out[0]!.diff, /^-x: 1$/m);
    assert.match(out[0]!.diff, /^\+x: 2$/m);
    assert.match(out[1]!.diff, /^--- \/dev\/null$/m);
    assert.match(out[1]!.diff, /^\+y: 1$/m);
    for (const o of out) assert.equal(o.backup, undefined);
    assert.equal(await r.read('a.yaml'), 'x: 1\n');
    assert.deepEqual(await readdir(r.dir), ['a.yaml']);
  });
});

test('the second of two writes fails (its directory is a file): the first is rolled back', async () => {
  await withRoot({ 'a.yaml': 'a0\n', blocker: 'I am a file\n' }, async (r) => {
    const a = (await proposeChange(r.path('a.yaml'), 'a1\n', 't', 'hosts'))!;
    const fresh = (await proposeChange(r.path('fresh/f.yaml'), 'f\n', 't', 'hosts'))!;
    const bad: FileChange = { path: r.path('blocker/b.yaml'), kind: 'create', before: null, after: 'b\n', reason: 't', role: 'registries' };
    await assert.rejects(applyFileChanges([a, fresh, bad], { now: NOW }), (e: unknown) => {
      assert.ok(e instanceof NodeConfigError);
      assert.equal(e.code, 'ERR_NODE_CONFIG_WRITE');
      assert.ok(e.message.includes(r.path('blocker/b.yaml')), e.message);
      return true;
    });
    assert.equal(await r.read('a.yaml'), 'a0\n', 'the update is undone');
    assert.equal(await r.read('fresh/f.yaml'), null, 'the create is undone');
    assert.equal(await r.read('blocker'), 'I am a file\n');
  });
});

test('a custom error factory is used for both kinds of failure', async () => {
  await withRoot({ 'a.yaml': 'a0\n' }, async (r) => {
    const a = (await proposeChange(r.path('a.yaml'), 'a1\n', 't', 'hosts'))!;
    await writeFile(r.path('a.yaml'), 'changed\n');
    const seen: string[] = [];
    await assert.rejects(applyFileChanges([a], {
      error: (what, path) => {
        seen.push(`${what} ${path}`);
        return new NodeConfigError('ERR_CUSTOM', what);
      },
    }), { code: 'ERR_CUSTOM' });
    assert.deepEqual(seen, [`changed ${r.path('a.yaml')}`]);
  });
});
