import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderJunit, xmlEscape } from '../../src/verify/report-junit.js';
import { renderJson } from '../../src/verify/report-json.js';
import { renderText } from '../../src/verify/report-text.js';
import { verifyBundle } from '../../src/verify/verify-bundle.js';
import { verifyList } from '../../src/verify/verify-list.js';
import type { VerifyReport } from '../../src/verify/report.js';
import { makeBundle, makeTempDir } from '../helpers/make-bundle.js';
import { findAll, parseXml, type XmlElement } from '../helpers/xml.js';

let dir: string;
let cleanup: () => Promise<void>;

before(async () => {
  ({ dir, cleanup } = await makeTempDir('airgap-junit-'));
});
after(async () => {
  await cleanup();
});

function failing(root: XmlElement): string[] {
  return findAll(root, 'testcase').filter((c) => c.children.some((x) => x.name === 'failure')).map((c) => `${c.attrs.classname} ${c.attrs.name}`);
}

function sumAttr(els: XmlElement[], attr: string): number {
  return els.reduce((s, e) => s + Number(e.attrs[attr]), 0);
}

/** The counts the file claims agree with its own test cases, at every level. */
function assertConsistent(root: XmlElement): void {
  assert.equal(root.name, 'testsuites');
  const suites = findAll(root, 'testsuite');
  for (const s of suites) {
    const cases = s.children.filter((c) => c.name === 'testcase');
    assert.equal(Number(s.attrs.tests), cases.length, s.attrs.name);
    assert.equal(Number(s.attrs.failures), cases.filter((c) => c.children.some((x) => x.name === 'failure')).length, s.attrs.name);
    assert.equal(Number(s.attrs.skipped), cases.filter((c) => c.children.some((x) => x.name === 'skipped')).length, s.attrs.name);
  }
  assert.equal(Number(root.attrs.tests), sumAttr(suites, 'tests'));
  assert.equal(Number(root.attrs.failures), sumAttr(suites, 'failures'));
  assert.equal(Number(root.attrs.failures), findAll(root, 'failure').length);
}

describe('JUnit report', () => {
  it('a sound bundle: well-formed, a suite per check, a case per image, no failures', async () => {
    const b = await makeBundle({ dir, dockerPlatform: 'linux/amd64' });
    const r = await verifyBundle(b.path);
    const root = parseXml(renderJunit(r));
    assertConsistent(root);
    assert.equal(root.attrs.failures, '0');
    const suites = findAll(root, 'testsuite');
    assert.deepEqual(suites.map((s) => s.attrs.name!.split(':')[0]), ['structure', 'layout', 'metadata', 'integrity', 'graph', 'platforms', 'docker', 'list', 'kubernetes']);
    const integrity = suites[3]!.children.map((c) => c.attrs.name);
    assert.deepEqual(integrity, ['blob integrity', ...b.images.map((i) => i.ref)]);
    assert.equal(root.attrs.skipped, '2');
  });

  it('a flipped shared byte: failures named by check and image, counted right', async () => {
    const clean = await makeBundle({ dir });
    const shared = [...new Set(clean.images.flatMap((i) => i.platforms.flatMap((p) => p.layers.map((l) => l.digest))))].find((d) => clean.usersOf(d).length > 1)!;
    const b = await makeBundle({ dir, damage: [{ kind: 'flip-byte', digest: shared }] });
    const r = await verifyBundle(b.path);
    const xml = renderJunit(r);
    const root = parseXml(xml);
    assertConsistent(root);
    const users = b.usersOf(shared);
    // integrity fails for each image using the blob; platforms for each damaged image platform
    assert.deepEqual(failing(root), [
      ...users.map((u) => `airgap.verify.integrity ${u}`),
      ...users.map((u) => `airgap.verify.platforms ${u}`),
    ]);
    assert.equal(root.attrs.failures, String(users.length * 2));
    const f = findAll(root, 'failure')[0]!;
    assert.equal(f.attrs.type, 'digest-mismatch');
    assert.ok(f.text.includes(shared));
  });

  it('a wrong-pause list: the pause case fails with both tags', async () => {
    const list = join(dir, 'list.txt');
    await writeFile(list, ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy'].map((r) => `registry.k8s.io/${r}:v1.30.14`)
      .concat(['registry.k8s.io/coredns/coredns:v1.11.3', 'registry.k8s.io/pause:3.8', 'registry.k8s.io/etcd:3.5.15-0']).join('\n'));
    const r = await verifyList({ list, kubernetes: 'v1.30.14' });
    const root = parseXml(renderJunit(r));
    assertConsistent(root);
    assert.deepEqual(failing(root), ['airgap.verify.kubernetes registry.k8s.io/pause:3.9']);
    const f = findAll(root, 'failure')[0]!;
    assert.match(f.attrs.message!, /pause:3\.9.*pause:3\.8/);
  });

  it('escapes what XML cannot hold raw', async () => {
    const nasty = 'a<b>&"\'\u0001\u001b[31m]]>';
    assert.equal(xmlEscape(nasty), 'a&lt;b&gt;&amp;&quot;&apos;\ufffd\ufffd[31m]]&gt;');
    const b = await makeBundle({ dir });
    const r: VerifyReport = await verifyBundle(b.path);
    r.checks[0]!.findings.push({ check: 'structure', severity: 'error', code: 'x<y', message: nasty, entry: nasty });
    r.checks[0]!.status = 'fail';
    r.checks[1]!.subjects.push(nasty);
    r.checks[1]!.findings.push({ check: 'layout', severity: 'warning', code: 'w', message: nasty, images: [nasty] });
    const root = parseXml(renderJunit(r));
    assertConsistent(root);
    const f = findAll(root, 'failure')[0]!;
    assert.equal(f.attrs.message, nasty.replace(/[\u0001\u001b]/g, '\ufffd'));
    assert.ok(findAll(root, 'testcase').some((c) => c.attrs.name === nasty.replace(/[\u0001\u001b]/g, '\ufffd')));
  });

  it('the strict parser rejects malformed XML (so the checks above mean something)', () => {
    for (const bad of ['<a><b></a></b>', '<a x="1" x="2"/>', '<a>&nbsp;</a>', '<a>1 < 2</a>', '<a/><b/>', '<a x=1/>', '<a>\u0001</a>']) {
      assert.throws(() => parseXml(bad), Error, bad);
    }
  });
});

describe('JSON and text reports', () => {
  it('JSON: the documented top-level fields, stable names', async () => {
    const b = await makeBundle({ dir, damage: [{ kind: 'flip-byte' }] });
    const r = await verifyBundle(b.path);
    const doc = JSON.parse(renderJson(r)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc), ['schemaVersion', 'tool', 'bundle', 'options', 'ok', 'summary', 'checks', 'images', 'platformMatrix']);
    assert.equal(doc.schemaVersion, 1);
    assert.equal(doc.ok, false);
    const checks = doc.checks as { name: string; status: string; findings: { code: string; digest?: string; images?: string[] }[] }[];
    assert.deepEqual(Object.keys(checks[0]!), ['name', 'title', 'status', 'summary', 'findings', 'stats', 'subjects', 'durationMs']);
    const f = checks.find((c) => c.name === 'integrity')!.findings[0]!;
    assert.equal(f.code, 'digest-mismatch');
  });

  it('text: one line a check, the damage named, no colour unless asked', async () => {
    const b = await makeBundle({ dir, damage: [{ kind: 'flip-byte' }] });
    const r = await verifyBundle(b.path);
    const text = renderText(r);
    assert.doesNotMatch(text, /\x1b\[/);
    assert.match(text, /✘ blob integrity +1 of \d+ blobs damaged/);
    assert.match(text, /FAILED: \d+ errors? \(integrity, platforms\)/);
    assert.match(renderText(r, { color: true }), /\x1b\[31m/);
  });
});
