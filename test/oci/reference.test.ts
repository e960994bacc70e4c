import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AirgapError } from '../../src/errors.js';
import { InvalidDigestError, InvalidReferenceError, isReference, parseReference } from '../../src/oci/index.js';
import { D, invalid, valid } from './reference-cases.js';


describe('parseReference: valid references normalize as docker does', () => {
  for (const c of valid) {
    it(c.input.length > 70 ? `${c.input.slice(0, 70)}…` : c.input, () => {
      const r = parseReference(c.input);
      assert.equal(r.toString(), c.full);
      assert.equal(r.registry, c.registry);
      assert.equal(r.repository, c.repository);
      assert.equal(r.tag, c.tag);
      assert.equal(r.digest, c.digest);
      assert.equal(r.familiar(), c.familiar);
      assert.equal(r.name, `${c.registry}/${c.repository}`);
      assert.equal(isReference(c.input), true);
      // the normalized form is a fixed point: parsing it again gives the same reference
      assert.equal(parseReference(c.full).toString(), c.full);
      assert.equal(parseReference(c.familiar).toString(), c.full);
    });
  }
});

describe('parseReference: invalid references are refused naming the bad part', () => {
  for (const c of invalid) {
    it(c.input.length > 70 ? `${c.input.slice(0, 70)}…` : JSON.stringify(c.input), () => {
      assert.throws(
        () => parseReference(c.input),
        (e: unknown) => {
          assert.ok(e instanceof InvalidReferenceError, `expected InvalidReferenceError, got ${String(e)}`);
          assert.ok(e instanceof AirgapError);
          assert.equal(e.code, 'ERR_INVALID_REFERENCE');
          assert.equal(e.kind, 'usage');
          assert.ok(e.message.includes(c.error), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(c.error)}`);
          assert.equal(e.details.reference, c.input);
          assert.ok(e.hint);
          return true;
        },
      );
      assert.equal(isReference(c.input), false);
    });
  }
});

describe('parseReference: details', () => {
  it('has at least 60 table cases', () => {
    assert.ok(valid.length + invalid.length >= 60, `${valid.length + invalid.length} cases`);
  });

  it('leaves the tag off when defaultTag is false', () => {
    const r = parseReference('nginx', { defaultTag: false });
    assert.equal(r.tag, undefined);
    assert.equal(r.toString(), 'docker.io/library/nginx');
    assert.equal(r.identifier, 'latest');
  });

  it('asks the registry for the digest when there is one, else the tag', () => {
    assert.equal(parseReference(`nginx:1.25@${D}`).identifier, D);
    assert.equal(parseReference('nginx:1.25').identifier, '1.25');
  });

  it('keeps the digest error as the cause', () => {
    try {
      parseReference('nginx@sha256:abc');
      assert.fail('no error');
    } catch (e) {
      assert.ok(e instanceof InvalidReferenceError);
      assert.ok(e.cause instanceof InvalidDigestError);
    }
  });

  it('quotes hostile input instead of printing control characters, and cuts it short', () => {
    const ctl = 'nginx:\u001b[31mred';
    assert.throws(() => parseReference(ctl), (e: Error) => !e.message.includes('\u001b') && e.message.includes('\\u001b'));
    const long = `example.com/${'A'.repeat(100_000)}`;
    assert.throws(() => parseReference(long), (e: Error) => e.message.length < 1000 && e.message.includes('must be lowercase'));
  });

  it('refuses what is not a string', () => {
    assert.throws(() => parseReference(42 as unknown as string), { code: 'ERR_INVALID_REFERENCE', message: /not a string but 42/ });
    assert.throws(() => parseReference(undefined as unknown as string), { code: 'ERR_INVALID_REFERENCE' });
  });

  it('withTag, withDigest and withoutDigest derive references', () => {
    const r = parseReference(`registry.k8s.io/pause:3.9@${D}`);
    assert.equal(r.withoutDigest().toString(), 'registry.k8s.io/pause:3.9');
    assert.equal(parseReference(`registry.k8s.io/pause@${D}`).withoutDigest().toString(), 'registry.k8s.io/pause:latest');
    assert.equal(r.withTag('3.10').toString(), `registry.k8s.io/pause:3.10@${D}`);
    assert.equal(parseReference('nginx').withDigest(D).toString(), `docker.io/library/nginx:latest@${D}`);
    assert.throws(() => r.withTag('-bad'), { code: 'ERR_INVALID_REFERENCE', message: /tag "-bad" is invalid/ });
    assert.throws(() => r.withTag('t'.repeat(129)), { code: 'ERR_INVALID_REFERENCE', message: /over the limit of 128/ });
    assert.throws(() => r.withDigest('sha256:nope'), { code: 'ERR_INVALID_DIGEST' });
  });

  it('equals compares normalized forms', () => {
    assert.ok(parseReference('nginx').equals(parseReference('docker.io/library/nginx:latest')));
    assert.ok(parseReference('index.docker.io/nginx').equals(parseReference('nginx:latest')));
    assert.ok(!parseReference('nginx').equals(parseReference('nginx:1')));
  });

  it('serializes to JSON as the full string', () => {
    assert.equal(JSON.stringify({ r: parseReference('pause:3.9') }), '{"r":"docker.io/library/pause:3.9"}');
  });
});

describe('parseReference: credentials', () => {
  it('refuses user:password@host/repo without echoing the password', () => {
    assert.throws(
      () => parseReference('admin:s3cr3t@registry.example.com/app:1'),
      (e: unknown) => {
        assert.ok(e instanceof InvalidReferenceError);
        assert.match(e.message, /credentials do not belong in an image reference/);
        assert.ok(!e.message.includes('s3cr3t') && !JSON.stringify(e.toJSON()).includes('s3cr3t'));
        assert.ok(!e.message.includes('admin'));
        return true;
      },
    );
    assert.throws(() => parseReference('[fe80::1%@invalidzone]:5000/repo'), { code: 'ERR_INVALID_REFERENCE', message: /"@" may only introduce a digest/ });
  });
});

describe('ImageReference.dockerRef (ParseDockerRef, the name containerd CRI stores)', () => {
  it('drops the tag when a digest is present and adds latest to a bare name', () => {
    assert.equal(parseReference(`busybox:latest@${D}`).dockerRef().toString(), `docker.io/library/busybox@${D}`);
    assert.equal(parseReference(`registry.k8s.io/pause@${D}`).dockerRef().toString(), `registry.k8s.io/pause@${D}`);
    assert.equal(parseReference('nginx', { defaultTag: false }).dockerRef().toString(), 'docker.io/library/nginx:latest');
    assert.equal(parseReference('nginx:1.25').dockerRef().toString(), 'docker.io/library/nginx:1.25');
  });
});
