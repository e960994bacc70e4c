import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAirgapError } from '../../src/errors.js';
import { parseImageList, readImageList } from '../../src/kubernetes/index.js';

function fails(fn: () => unknown, code: string, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isAirgapError(e), String(e));
    assert.equal(e.code, code);
    for (const f of fragments) assert.ok(e.message.includes(f), `${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    assert.ok(!e.message.includes('\n'), 'one-line message');
    assert.ok(e.hint);
    return true;
  });
}

async function failsAsync(p: Promise<unknown>, code: string, kind: string, ...fragments: string[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isAirgapError(e), String(e));
    assert.equal(e.code, code);
    assert.equal(e.kind, kind);
    for (const f of fragments) assert.ok(e.message.includes(f), `${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

test('comments, blank lines, white space and normalization', () => {
  const text = [
    '# images for the cluster',
    '',
    '   registry.k8s.io/pause:3.9   ',
    'nginx # the web server',
    '\tquay.io/k0sproject/coredns:1.11.4\t# tab before the comment',
    '    # an indented comment',
    'registry.k8s.io/etcd@sha256:' + 'a'.repeat(64),
  ].join('\n');
  assert.deepEqual(parseImageList(text, 'images.txt'), [
    { ref: 'registry.k8s.io/pause:3.9', line: 3, text: 'registry.k8s.io/pause:3.9' },
    { ref: 'docker.io/library/nginx:latest', line: 4, text: 'nginx' },
    { ref: 'quay.io/k0sproject/coredns:1.11.4', line: 5, text: 'quay.io/k0sproject/coredns:1.11.4' },
    { ref: `registry.k8s.io/etcd@sha256:${'a'.repeat(64)}`, line: 7, text: `registry.k8s.io/etcd@sha256:${'a'.repeat(64)}` },
  ]);
});

test('CRLF line ends and a BOM are accepted; line numbers stay right', () => {
  const entries = parseImageList('\uFEFFregistry.k8s.io/pause:3.9\r\n\r\n# c\r\nnginx:1.25\r\n', 'win.txt');
  assert.deepEqual(entries.map((e) => [e.ref, e.line]), [
    ['registry.k8s.io/pause:3.9', 1],
    ['docker.io/library/nginx:1.25', 4],
  ]);
});

test('duplicates collapse to their first line, after normalization', () => {
  const entries = parseImageList('nginx\nredis:7\ndocker.io/library/nginx:latest\nnginx\nredis:7\n', 'dup.txt');
  assert.deepEqual(entries.map((e) => [e.ref, e.line]), [
    ['docker.io/library/nginx:latest', 1],
    ['docker.io/library/redis:7', 2],
  ]);
});

test('a bad line is reported by source:line and its text', () => {
  fails(() => parseImageList('registry.k8s.io/pause:3.9\nNot A Ref\n', 'list.txt'), 'ERR_INVALID_IMAGE_LIST', 'list.txt:2:', '"Not A Ref"');
  fails(() => parseImageList('registry.k8s.io/pause:3.9#nospace\n', 'list.txt'), 'ERR_INVALID_IMAGE_LIST', 'list.txt:1:');
});

test('every bad line is counted, the first few named by number', () => {
  const text = ['ok:1', 'BAD1', 'ok:2', 'bad two', 'x::y', '', '-leading-dash'].join('\r\n');
  try {
    parseImageList(text, 'many.txt');
    assert.fail('should throw');
  } catch (e) {
    assert.ok(isAirgapError(e));
    assert.equal(e.code, 'ERR_INVALID_IMAGE_LIST');
    assert.match(e.message, /^many\.txt:2: invalid image reference "BAD1": .* \(and 3 more invalid lines: 4, 5, 7\)$/);
    const invalid = e.details.invalid as { line: number; text: string }[];
    assert.deepEqual(invalid.map((b) => b.line), [2, 4, 5, 7]);
  }
});

test('control characters in a bad line are escaped in the message', () => {
  fails(() => parseImageList('bad\u001b[31mred\n', 'x.txt'), 'ERR_INVALID_IMAGE_LIST', '\\u001b');
});

test('a list with no references is an error with a hint', () => {
  for (const text of ['', '\n\n', '# only comments\r\n   # and more\r\n', '\uFEFF']) {
    fails(() => parseImageList(text, 'empty.txt'), 'ERR_EMPTY_IMAGE_LIST', 'empty.txt');
  }
});

test('readImageList: files in UTF-8 (with BOM, CRLF) and UTF-16 (PowerShell) read the same', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'airgap-list-'));
  try {
    const body = '# kubeadm config images list\r\nregistry.k8s.io/pause:3.9\r\nregistry.k8s.io/etcd:3.5.15-0\r\n';
    const utf8 = join(dir, 'utf8.txt');
    const utf16 = join(dir, 'utf16.txt');
    const utf16be = join(dir, 'utf16be.txt');
    await writeFile(utf8, `\uFEFF${body}`);
    await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(body, 'utf16le')]));
    const be = Buffer.from(body, 'utf16le');
    be.swap16();
    await writeFile(utf16be, Buffer.concat([Buffer.from([0xfe, 0xff]), be]));
    const expected = [
      { ref: 'registry.k8s.io/pause:3.9', line: 2, text: 'registry.k8s.io/pause:3.9' },
      { ref: 'registry.k8s.io/etcd:3.5.15-0', line: 3, text: 'registry.k8s.io/etcd:3.5.15-0' },
    ];
    assert.deepEqual(await readImageList(utf8), expected);
    assert.deepEqual(await readImageList(utf16), expected);
    assert.deepEqual(await readImageList(utf16be), expected);
    // Errors in a file name the path.
    const bad = join(dir, 'bad.txt');
    await writeFile(bad, 'registry.k8s.io/pause:3.9\nnot valid\n');
    await failsAsync(readImageList(bad), 'ERR_INVALID_IMAGE_LIST', 'usage', `${bad}:2:`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('readImageList: missing file, directory, binary and huge files are clear file errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'airgap-list-'));
  try {
    await failsAsync(readImageList(join(dir, 'nope.txt')), 'ERR_IMAGE_LIST_NOT_FOUND', 'io', 'nope.txt', 'no such file');
    await mkdir(join(dir, 'sub'));
    await failsAsync(readImageList(join(dir, 'sub')), 'ERR_IMAGE_LIST_IS_DIRECTORY', 'io', 'directory');
    await writeFile(join(dir, 'bin'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00]));
    await failsAsync(readImageList(join(dir, 'bin')), 'ERR_IMAGE_LIST_NOT_TEXT', 'io', 'not a text file');
    await writeFile(join(dir, 'latin1'), Buffer.from([0x6e, 0x67, 0x69, 0x6e, 0x78, 0xe9, 0x0a]));
    await failsAsync(readImageList(join(dir, 'latin1')), 'ERR_IMAGE_LIST_NOT_TEXT', 'io', 'not UTF-8');
    await writeFile(join(dir, 'huge'), '');
    await truncate(join(dir, 'huge'), 17 * 1024 * 1024);
    await failsAsync(readImageList(join(dir, 'huge')), 'ERR_IMAGE_LIST_TOO_LARGE', 'io', 'too large');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
