import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptRefusal } from '../../src/serve/accept.js';
import { normalizePrefix, parseListenAddress, urlHost } from '../../src/serve/address.js';
import { hostsToml } from '../../src/serve/hosts-toml.js';
import { renderHostsToml, upstreamServer } from '../../src/node/containerd/hosts-toml.js';
import { paginate, PageNumberError } from '../../src/serve/pagination.js';
import { parseRange } from '../../src/serve/range.js';

describe('serve: listen addresses', () => {
  it('reads HOST:PORT the way Go servers do', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:5000'), { host: '127.0.0.1', port: 5000 });
    assert.deepEqual(parseListenAddress(':5000'), { host: '0.0.0.0', port: 5000 });
    assert.deepEqual(parseListenAddress('[::1]:5443'), { host: '::1', port: 5443 });
    assert.deepEqual(parseListenAddress('localhost:0'), { host: 'localhost', port: 0 });
    assert.deepEqual(parseListenAddress('5001'), { host: '127.0.0.1', port: 5001 });
  });

  it('refuses what is not HOST:PORT, saying why', () => {
    for (const [bad, why] of [['127.0.0.1', /no port/], ['127.0.0.1:http', /not a number/], ['1.2.3.4:70000', /above 65535/], ['::1:5000', /brackets/], ['[::1', /not closed/], ['a b:1', /not an IP address or host name/], ['', /empty/]] as const) {
      assert.throws(() => parseListenAddress(bad), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_SERVE_ADDRESS');
        assert.match(e.message, why);
        return true;
      }, bad);
    }
  });

  it('makes URLs that reach a wildcard bind through loopback', () => {
    assert.equal(urlHost('0.0.0.0', 5000), '127.0.0.1:5000');
    assert.equal(urlHost('::', 5000), '[::1]:5000');
    assert.equal(urlHost('::1', 5000), '[::1]:5000');
  });

  it('normalizes --prefix and refuses what cannot be part of a repository name', () => {
    assert.equal(normalizePrefix('/mirror/'), 'mirror');
    assert.equal(normalizePrefix('team/k8s'), 'team/k8s');
    assert.equal(normalizePrefix(undefined), '');
    for (const bad of ['Mirror', 'a//b', 'v2/x', 'a:b']) {
      assert.throws(() => normalizePrefix(bad), { code: 'ERR_SERVE_PREFIX' }, bad);
    }
  });
});

describe('serve: Range', () => {
  const size = 1000;
  it('reads single byte ranges, clamped to the blob', () => {
    assert.deepEqual(parseRange(undefined, size), { kind: 'full' });
    assert.deepEqual(parseRange('bytes=0-99', size), { kind: 'partial', start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=900-', size), { kind: 'partial', start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=-10', size), { kind: 'partial', start: 990, end: 999 });
    assert.deepEqual(parseRange('bytes=-5000', size), { kind: 'partial', start: 0, end: 999 });
    assert.deepEqual(parseRange('bytes=990-5000', size), { kind: 'partial', start: 990, end: 999 });
    assert.deepEqual(parseRange('bytes= 5-6 ', size), { kind: 'partial', start: 5, end: 6 });
  });

  it('is unsatisfiable outside the blob or malformed; several ranges or other units get it all', () => {
    for (const h of ['bytes=1000-', 'bytes=5-4', 'bytes=x-1', 'bytes=-0', 'bytes=', 'bytes=1-2-3', 'bytes=99999999999999999999-']) {
      assert.deepEqual(parseRange(h, size), { kind: 'unsatisfiable' }, h);
    }
    assert.deepEqual(parseRange('bytes=0-0', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=0-1,3-4', size), { kind: 'full' });
    assert.deepEqual(parseRange('bytes=0-1,2000-', size), { kind: 'partial', start: 0, end: 1 });
    assert.deepEqual(parseRange('lines=0-1', size), { kind: 'full' });
  });

  it('honours If-Range only when it names our ETag', () => {
    assert.deepEqual(parseRange('bytes=0-1', size, { ifRange: '"sha256:a"', etag: '"sha256:a"' }), { kind: 'partial', start: 0, end: 1 });
    assert.deepEqual(parseRange('bytes=0-1', size, { ifRange: '"sha256:b"', etag: '"sha256:a"' }), { kind: 'full' });
  });
});

describe('serve: Accept', () => {
  const oci = 'application/vnd.oci.image.manifest.v1+json';
  const index = 'application/vnd.oci.image.index.v1+json';
  const docker = 'application/vnd.docker.distribution.manifest.v2+json';
  it('serves what the client lists, wildcards, and clients that state no manifest preference', () => {
    assert.equal(acceptRefusal(undefined, oci), undefined);
    assert.equal(acceptRefusal('', oci), undefined);
    assert.equal(acceptRefusal('*/*', index), undefined);
    assert.equal(acceptRefusal(`${docker}, ${oci};q=0.9`, oci), undefined);
    assert.equal(acceptRefusal([docker, index], index), undefined);
    assert.equal(acceptRefusal('application/json', oci), undefined);
    assert.equal(acceptRefusal('APPLICATION/VND.OCI.IMAGE.MANIFEST.V1+JSON', oci), undefined);
  });
  it('refuses a client that lists manifest types but not this one, with distribution\'s words', () => {
    assert.equal(acceptRefusal(docker, oci), 'OCI manifest found, but accept header does not support OCI manifests');
    assert.equal(acceptRefusal(`${docker}, ${oci}`, index), 'OCI index found, but accept header does not support OCI indexes');
    assert.match(acceptRefusal('application/vnd.docker.distribution.manifest.v1+prettyjws', docker) ?? '', /Docker schema 2 manifest found/);
  });
});

describe('serve: pagination', () => {
  const items = ['a', 'b', 'c', 'd', 'e'];
  const q = (s: string): URLSearchParams => new URLSearchParams(s);
  it('pages with n and last, linking to the next page', () => {
    assert.deepEqual(paginate(items, q(''), '/x'), { items });
    assert.deepEqual(paginate(items, q('n=2'), '/x'), { items: ['a', 'b'], link: '</x?last=b&n=2>; rel="next"' });
    assert.deepEqual(paginate(items, q('n=2&last=b'), '/x'), { items: ['c', 'd'], link: '</x?last=d&n=2>; rel="next"' });
    assert.deepEqual(paginate(items, q('n=2&last=d'), '/x'), { items: ['e'] });
    assert.deepEqual(paginate(items, q('last=bb'), '/x'), { items: ['c', 'd', 'e'] });
    assert.deepEqual(paginate(items, q('n=0'), '/x'), { items: [] });
    assert.deepEqual(paginate(items, q(''), '/x', 3), { items: ['a', 'b', 'c'], link: '</x?last=c&n=3>; rel="next"' });
    assert.deepEqual(paginate(items, q('last=e'), '/x'), { items: [] });
  });
  it('refuses an n that is not a count or too large', () => {
    assert.throws(() => paginate(items, q('n=x'), '/x'), PageNumberError);
    assert.throws(() => paginate(items, q('n=1001'), '/x'), PageNumberError);
  });
});

describe('serve: hosts.toml', () => {
  it('points containerd at the mirror with the load layout, Docker Hub at its API host', () => {
    assert.equal(upstreamServer('docker.io'), 'https://registry-1.docker.io');
    // The same text load writes (one renderer in src/node), with serve's own comment line.
    const text = hostsToml('registry.k8s.io', { mirror: 'http://127.0.0.1:5000/' });
    assert.equal(text, renderHostsToml('registry.k8s.io', { url: 'http://127.0.0.1:5000' }).replace(/^(#.*\n)+/, '# Pulls of registry.k8s.io/… are served by airgap serve; the server below is only a fallback.\n'));
    assert.equal(text.split('\n').filter((l) => !l.trim().startsWith('#')).join('\n'), [
      'server = "https://registry.k8s.io"',
      '',
      '[host."http://127.0.0.1:5000/v2/registry.k8s.io"]',
      '  capabilities = ["pull", "resolve"]',
      '  override_path = true',
      '',
    ].join('\n'));
    const tls = hostsToml('docker.io', { mirror: 'https://10.0.0.5:5443', prefix: 'mirror', ca: '/etc/airgap/tls.crt' });
    assert.match(tls, /\[host\."https:\/\/10\.0\.0\.5:5443\/v2\/mirror\/docker\.io"\]/);
    assert.match(tls, /ca = "\/etc\/airgap\/tls\.crt"/);
  });
});
