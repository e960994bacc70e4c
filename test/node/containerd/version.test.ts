import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execa } from 'execa';
import { ContainerdConfigError } from '../../../src/node/containerd/errors.js';
import {
  configVersionFor,
  detectContainerdVersion,
  mergesPluginTablesDeeply,
  parseContainerdVersionOutput,
  parseCtrVersionOutput,
} from '../../../src/node/containerd/version.js';

test('containerd --version as the distributions print it', () => {
  const cases: Array<[string, number, number, number, 2 | 3]> = [
    ['containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3', 1, 6, 20, 2],
    ['containerd containerd.io 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da', 1, 7, 27, 2],
    ['containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376', 2, 1, 4, 3],
    ['containerd github.com/k3s-io/containerd v1.7.23-k3s2', 1, 7, 23, 2],
    ['containerd github.com/k3s-io/containerd/v2 v2.0.5-k3s1', 2, 0, 5, 3],
    ['containerd github.com/containerd/containerd v1.6.8-k0s.0 3ea6e1ff', 1, 6, 8, 2],
  ];
  for (const [text, major, minor, patch, cfg] of cases) {
    const v = parseContainerdVersionOutput(text);
    assert.ok(v, text);
    assert.deepEqual([v.major, v.minor, v.patch], [major, minor, patch], text);
    assert.equal(configVersionFor(v), cfg, text);
    assert.equal(mergesPluginTablesDeeply(v), major >= 2, text);
  }
  assert.equal(parseContainerdVersionOutput('containerd: command not found'), undefined);
});

test('ctr version: the server section is the running daemon', () => {
  const text = 'Client:\n  Version:  1.7.0\n  Revision: x\n  Go version: go1.20\n\nServer:\n  Version:  2.0.1\n  Revision: y\n  UUID: z\n';
  assert.equal(parseCtrVersionOutput(text)?.raw, '2.0.1');
  assert.equal(parseCtrVersionOutput('Client:\n  Version: 1.7.0\n'), undefined);
});

test('detects the containerd installed here, the same as its own --version says', async () => {
  const { stdout } = await execa('containerd', ['--version']);
  const v = await detectContainerdVersion();
  assert.ok(stdout.includes(v.raw), `${stdout} vs ${v.raw}`);
  assert.equal(v.source, 'containerd --version');
});

test('no containerd to ask: a runtime error that says what was tried and how to go on', async () => {
  await assert.rejects(
    detectContainerdVersion({ binary: '/nonexistent/containerd' }),
    (e: unknown) =>
      e instanceof ContainerdConfigError &&
      e.code === 'ERR_CONTAINERD_VERSION_UNKNOWN' &&
      e.kind === 'runtime' &&
      /\/nonexistent\/containerd --version/.test(e.message) &&
      /--containerd-version/.test(e.hint ?? ''),
  );
});
