/** The reference table shared by reference.test.ts and the docker oracle test. */
export const H = 'f'.repeat(64);
export const D = `sha256:${H}`;
const D512 = `sha512:${'a'.repeat(128)}`;
const HEXNAME = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

export interface Valid {
  input: string;
  /** the normalized string docker prints with `docker image inspect` (full name) */
  full: string;
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
  /** docker's FamiliarString */
  familiar: string;
}

/*
 * Expectations follow distribution/reference (ParseNormalizedNamed + TagNameOnly), the parser docker
 * and containerd's CRI and ctr use: normalize_test.go TestParseRepositoryInfo /
 * TestValidateReferenceName and reference_test.go TestReferenceParse.
 */
export const valid: Valid[] = [
  // Docker Hub short forms
  { input: 'nginx', full: 'docker.io/library/nginx:latest', registry: 'docker.io', repository: 'library/nginx', tag: 'latest', familiar: 'nginx:latest' },
  { input: 'nginx:1.25', full: 'docker.io/library/nginx:1.25', registry: 'docker.io', repository: 'library/nginx', tag: '1.25', familiar: 'nginx:1.25' },
  { input: 'library/nginx', full: 'docker.io/library/nginx:latest', registry: 'docker.io', repository: 'library/nginx', tag: 'latest', familiar: 'nginx:latest' },
  { input: 'docker.io/nginx', full: 'docker.io/library/nginx:latest', registry: 'docker.io', repository: 'library/nginx', tag: 'latest', familiar: 'nginx:latest' },
  { input: 'docker.io/library/nginx:stable', full: 'docker.io/library/nginx:stable', registry: 'docker.io', repository: 'library/nginx', tag: 'stable', familiar: 'nginx:stable' },
  { input: 'index.docker.io/library/nginx', full: 'docker.io/library/nginx:latest', registry: 'docker.io', repository: 'library/nginx', tag: 'latest', familiar: 'nginx:latest' },
  { input: 'index.docker.io/nginx', full: 'docker.io/library/nginx:latest', registry: 'docker.io', repository: 'library/nginx', tag: 'latest', familiar: 'nginx:latest' },
  { input: 'index.docker.io/docker/docker', full: 'docker.io/docker/docker:latest', registry: 'docker.io', repository: 'docker/docker', tag: 'latest', familiar: 'docker/docker:latest' },
  { input: 'fooo/bar', full: 'docker.io/fooo/bar:latest', registry: 'docker.io', repository: 'fooo/bar', tag: 'latest', familiar: 'fooo/bar:latest' },
  { input: 'calico/node:v3.27.0', full: 'docker.io/calico/node:v3.27.0', registry: 'docker.io', repository: 'calico/node', tag: 'v3.27.0', familiar: 'calico/node:v3.27.0' },
  { input: 'library/foo/bar', full: 'docker.io/library/foo/bar:latest', registry: 'docker.io', repository: 'library/foo/bar', tag: 'latest', familiar: 'library/foo/bar:latest' },
  { input: 'other/library', full: 'docker.io/other/library:latest', registry: 'docker.io', repository: 'other/library', tag: 'latest', familiar: 'other/library:latest' },
  { input: 'ubuntu-12.04-base', full: 'docker.io/library/ubuntu-12.04-base:latest', registry: 'docker.io', repository: 'library/ubuntu-12.04-base', tag: 'latest', familiar: 'ubuntu-12.04-base:latest' },
  // no "/" means no registry: these are Docker Hub names even though they look like hosts
  { input: 'foo:5000', full: 'docker.io/library/foo:5000', registry: 'docker.io', repository: 'library/foo', tag: '5000', familiar: 'foo:5000' },
  { input: 'localhost', full: 'docker.io/library/localhost:latest', registry: 'docker.io', repository: 'library/localhost', tag: 'latest', familiar: 'localhost:latest' },
  { input: 'localhost:5000', full: 'docker.io/library/localhost:5000', registry: 'docker.io', repository: 'library/localhost', tag: '5000', familiar: 'localhost:5000' },
  { input: 'test.com:tag', full: 'docker.io/library/test.com:tag', registry: 'docker.io', repository: 'library/test.com', tag: 'tag', familiar: 'test.com:tag' },
  { input: '192.168.1.1:5000', full: 'docker.io/library/192.168.1.1:5000', registry: 'docker.io', repository: 'library/192.168.1.1', tag: '5000', familiar: '192.168.1.1:5000' },
  { input: 'foo_bar.com:8080', full: 'docker.io/library/foo_bar.com:8080', registry: 'docker.io', repository: 'library/foo_bar.com', tag: '8080', familiar: 'foo_bar.com:8080' },
  { input: 'foo/foo_bar.com:8080', full: 'docker.io/foo/foo_bar.com:8080', registry: 'docker.io', repository: 'foo/foo_bar.com', tag: '8080', familiar: 'foo/foo_bar.com:8080' },
  // other registries
  { input: 'registry.k8s.io/pause:3.9', full: 'registry.k8s.io/pause:3.9', registry: 'registry.k8s.io', repository: 'pause', tag: '3.9', familiar: 'registry.k8s.io/pause:3.9' },
  { input: 'registry.k8s.io/coredns/coredns:v1.11.1', full: 'registry.k8s.io/coredns/coredns:v1.11.1', registry: 'registry.k8s.io', repository: 'coredns/coredns', tag: 'v1.11.1', familiar: 'registry.k8s.io/coredns/coredns:v1.11.1' },
  { input: 'quay.io/cilium/cilium', full: 'quay.io/cilium/cilium:latest', registry: 'quay.io', repository: 'cilium/cilium', tag: 'latest', familiar: 'quay.io/cilium/cilium:latest' },
  { input: 'registry-1.docker.io/library/nginx', full: 'registry-1.docker.io/library/nginx:latest', registry: 'registry-1.docker.io', repository: 'library/nginx', tag: 'latest', familiar: 'registry-1.docker.io/library/nginx:latest' },
  { input: 'host:5000/a/b:tag', full: 'host:5000/a/b:tag', registry: 'host:5000', repository: 'a/b', tag: 'tag', familiar: 'host:5000/a/b:tag' },
  { input: 'test:5000/repo', full: 'test:5000/repo:latest', registry: 'test:5000', repository: 'repo', tag: 'latest', familiar: 'test:5000/repo:latest' },
  { input: 'localhost/fooo', full: 'localhost/fooo:latest', registry: 'localhost', repository: 'fooo', tag: 'latest', familiar: 'localhost/fooo:latest' },
  { input: 'localhost/library/debian', full: 'localhost/library/debian:latest', registry: 'localhost', repository: 'library/debian', tag: 'latest', familiar: 'localhost/library/debian:latest' },
  { input: 'localhost:5000/foo', full: 'localhost:5000/foo:latest', registry: 'localhost:5000', repository: 'foo', tag: 'latest', familiar: 'localhost:5000/foo:latest' },
  { input: '127.0.0.1:5000/registry.k8s.io/pause:3.9', full: '127.0.0.1:5000/registry.k8s.io/pause:3.9', registry: '127.0.0.1:5000', repository: 'registry.k8s.io/pause', tag: '3.9', familiar: '127.0.0.1:5000/registry.k8s.io/pause:3.9' },
  { input: '192.168.1.1/repo', full: '192.168.1.1/repo:latest', registry: '192.168.1.1', repository: 'repo', tag: 'latest', familiar: '192.168.1.1/repo:latest' },
  { input: '192.168.1.1:5000/repo:5050', full: '192.168.1.1:5000/repo:5050', registry: '192.168.1.1:5000', repository: 'repo', tag: '5050', familiar: '192.168.1.1:5000/repo:5050' },
  { input: 'sub-dom1.foo.com/bar/baz/quux:some-long-tag', full: 'sub-dom1.foo.com/bar/baz/quux:some-long-tag', registry: 'sub-dom1.foo.com', repository: 'bar/baz/quux', tag: 'some-long-tag', familiar: 'sub-dom1.foo.com/bar/baz/quux:some-long-tag' },
  { input: 'b.gcr.io/test.example.com/my-app:test.example.com', full: 'b.gcr.io/test.example.com/my-app:test.example.com', registry: 'b.gcr.io', repository: 'test.example.com/my-app', tag: 'test.example.com', familiar: 'b.gcr.io/test.example.com/my-app:test.example.com' },
  { input: 'xn--n3h.com/myimage:xn--n3h.com', full: 'xn--n3h.com/myimage:xn--n3h.com', registry: 'xn--n3h.com', repository: 'myimage', tag: 'xn--n3h.com', familiar: 'xn--n3h.com/myimage:xn--n3h.com' },
  // a capitalized first component can only be a host (namespaces are lowercase); kept as written
  { input: 'Docker/docker', full: 'Docker/docker:latest', registry: 'Docker', repository: 'docker', tag: 'latest', familiar: 'Docker/docker:latest' },
  { input: 'LOCALDOMAIN/fooo/bar', full: 'LOCALDOMAIN/fooo/bar:latest', registry: 'LOCALDOMAIN', repository: 'fooo/bar', tag: 'latest', familiar: 'LOCALDOMAIN/fooo/bar:latest' },
  { input: 'Registry.Example.COM/app', full: 'Registry.Example.COM/app:latest', registry: 'Registry.Example.COM', repository: 'app', tag: 'latest', familiar: 'Registry.Example.COM/app:latest' },
  // IPv6 registries
  { input: '[2001:db8::1]:5000/foo', full: '[2001:db8::1]:5000/foo:latest', registry: '[2001:db8::1]:5000', repository: 'foo', tag: 'latest', familiar: '[2001:db8::1]:5000/foo:latest' },
  { input: '[2001:db8::1]/repo', full: '[2001:db8::1]/repo:latest', registry: '[2001:db8::1]', repository: 'repo', tag: 'latest', familiar: '[2001:db8::1]/repo:latest' },
  { input: '[::1]:5000/repo:tag', full: '[::1]:5000/repo:tag', registry: '[::1]:5000', repository: 'repo', tag: 'tag', familiar: '[::1]:5000/repo:tag' },
  { input: '[2001:db8:1:2:3:4:5:6]/repo:tag', full: '[2001:db8:1:2:3:4:5:6]/repo:tag', registry: '[2001:db8:1:2:3:4:5:6]', repository: 'repo', tag: 'tag', familiar: '[2001:db8:1:2:3:4:5:6]/repo:tag' },
  { input: '[2001:db8::]:5000/repo', full: '[2001:db8::]:5000/repo:latest', registry: '[2001:db8::]:5000', repository: 'repo', tag: 'latest', familiar: '[2001:db8::]:5000/repo:latest' },
  { input: `[fc00:1:2:3:4:5:6:7]:5000/library/debian@${D}`, full: `[fc00:1:2:3:4:5:6:7]:5000/library/debian@${D}`, registry: '[fc00:1:2:3:4:5:6:7]:5000', repository: 'library/debian', digest: D, familiar: `[fc00:1:2:3:4:5:6:7]:5000/library/debian@${D}` },
  // digests: no default tag; tag and digest together are both kept (ParseNormalizedNamed)
  { input: `nginx@${D}`, full: `docker.io/library/nginx@${D}`, registry: 'docker.io', repository: 'library/nginx', digest: D, familiar: `nginx@${D}` },
  { input: `busybox:latest@${D}`, full: `docker.io/library/busybox:latest@${D}`, registry: 'docker.io', repository: 'library/busybox', tag: 'latest', digest: D, familiar: `busybox:latest@${D}` },
  { input: `foo/bar:tag@${D}`, full: `docker.io/foo/bar:tag@${D}`, registry: 'docker.io', repository: 'foo/bar', tag: 'tag', digest: D, familiar: `foo/bar:tag@${D}` },
  { input: `registry.k8s.io/pause:3.9@${D}`, full: `registry.k8s.io/pause:3.9@${D}`, registry: 'registry.k8s.io', repository: 'pause', tag: '3.9', digest: D, familiar: `registry.k8s.io/pause:3.9@${D}` },
  { input: `test:5000/repo@${D}`, full: `test:5000/repo@${D}`, registry: 'test:5000', repository: 'repo', digest: D, familiar: `test:5000/repo@${D}` },
  { input: `xn--7o8h.com/myimage:xn--7o8h.com@${D}`, full: `xn--7o8h.com/myimage:xn--7o8h.com@${D}`, registry: 'xn--7o8h.com', repository: 'myimage', tag: 'xn--7o8h.com', digest: D, familiar: `xn--7o8h.com/myimage:xn--7o8h.com@${D}` },
  { input: `example.com/app@${D512}`, full: `example.com/app@${D512}`, registry: 'example.com', repository: 'app', digest: D512, familiar: `example.com/app@${D512}` },
  // path separators: ".", "_", "__", any number of "-"
  { input: 'dock__er/docker', full: 'docker.io/dock__er/docker:latest', registry: 'docker.io', repository: 'dock__er/docker', tag: 'latest', familiar: 'dock__er/docker:latest' },
  { input: 'docker---rules/docker', full: 'docker.io/docker---rules/docker:latest', registry: 'docker.io', repository: 'docker---rules/docker', tag: 'latest', familiar: 'docker---rules/docker:latest' },
  { input: 'foo/a.b_c-d', full: 'docker.io/foo/a.b_c-d:latest', registry: 'docker.io', repository: 'foo/a.b_c-d', tag: 'latest', familiar: 'foo/a.b_c-d:latest' },
  { input: 'd/docker', full: 'docker.io/d/docker:latest', registry: 'docker.io', repository: 'd/docker', tag: 'latest', familiar: 'd/docker:latest' },
  { input: 'jess/t', full: 'docker.io/jess/t:latest', registry: 'docker.io', repository: 'jess/t', tag: 'latest', familiar: 'jess/t:latest' },
  // tags: letters (either case), digits, _ . -, up to 128, not starting with . or -
  { input: 'lowercase:Uppercase', full: 'docker.io/library/lowercase:Uppercase', registry: 'docker.io', repository: 'library/lowercase', tag: 'Uppercase', familiar: 'lowercase:Uppercase' },
  { input: 'nginx:_private', full: 'docker.io/library/nginx:_private', registry: 'docker.io', repository: 'library/nginx', tag: '_private', familiar: 'nginx:_private' },
  { input: `nginx:${'t'.repeat(128)}`, full: `docker.io/library/nginx:${'t'.repeat(128)}`, registry: 'docker.io', repository: 'library/nginx', tag: 't'.repeat(128), familiar: `nginx:${'t'.repeat(128)}` },
  // a 64-hex repository is fine with a registry, or with a tag; only the bare string is an ID
  { input: `docker.io/${HEXNAME}`, full: `docker.io/library/${HEXNAME}:latest`, registry: 'docker.io', repository: `library/${HEXNAME}`, tag: 'latest', familiar: `${HEXNAME}:latest` },
  { input: `${HEXNAME}:v1`, full: `docker.io/library/${HEXNAME}:v1`, registry: 'docker.io', repository: `library/${HEXNAME}`, tag: 'v1', familiar: `${HEXNAME}:v1` },
  { input: 'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', full: 'docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest', registry: 'docker.io', repository: 'library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', tag: 'latest', familiar: 'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest' },
  // length: the repository path (not the registry) may be 255 characters
  { input: `example.com/${'a'.repeat(255)}:tag`, full: `example.com/${'a'.repeat(255)}:tag`, registry: 'example.com', repository: 'a'.repeat(255), tag: 'tag', familiar: `example.com/${'a'.repeat(255)}:tag` },
  { input: `${'a/'.repeat(127)}a:x`, full: `docker.io/${'a/'.repeat(127)}a:x`, registry: 'docker.io', repository: `${'a/'.repeat(127)}a`, tag: 'x', familiar: `${'a/'.repeat(127)}a:x` },
];

export interface Invalid {
  input: string;
  /** a fragment of the message that names the bad part */
  error: string;
}

export const invalid: Invalid[] = [
  { input: '', error: ': empty' },
  { input: ' nginx', error: 'leading or trailing white space' },
  { input: 'nginx ', error: 'leading or trailing white space' },
  { input: 'ng inx', error: 'contains white space' },
  { input: HEXNAME, error: 'is an image ID, not a repository name' },
  { input: 'https://github.com/docker/docker', error: '"https://" is a URL scheme' },
  // repository path
  { input: 'Uppercase:tag', error: 'repository name "Uppercase" must be lowercase' },
  { input: 'docker/Docker', error: 'repository name "docker/Docker" must be lowercase' },
  { input: 'test:5000/Uppercase/lowercase:tag', error: 'repository name "Uppercase/lowercase" must be lowercase' },
  { input: 'Docker/Docker', error: 'repository name "Docker" must be lowercase' },
  { input: '-docker', error: 'repository path component "-docker" is invalid' },
  { input: '-docker/docker', error: 'repository path component "-docker" is invalid' },
  { input: 'docker-/docker', error: 'repository path component "docker-" is invalid' },
  { input: '____/____', error: 'repository path component "____" is invalid' },
  { input: '_docker/_docker', error: 'repository path component "_docker" is invalid' },
  { input: 'foo/a..b', error: 'repository path component "a..b" is invalid' },
  { input: 'foo/a___b', error: 'repository path component "a___b" is invalid' },
  { input: 'foo/dock_.er', error: 'repository path component "dock_.er" is invalid' },
  { input: 'foo/dock-.er', error: 'repository path component "dock-.er" is invalid' },
  { input: 'aa/asdf$$^/aa', error: 'repository path component "asdf$$^" is invalid' },
  { input: 'docker///docker', error: 'has an empty path component' },
  { input: 'docker.io/docker///docker', error: 'has an empty path component' },
  { input: 'docker/', error: 'repository name "docker/" ends with "/"' },
  { input: '/nginx', error: 'starts with "/"' },
  { input: 'localhost:5000/', error: 'repository name is empty' },
  { input: ':justtag', error: 'repository name is empty' },
  { input: `@${D}`, error: 'no repository name before "@"' },
  { input: `domain/${'a'.repeat(256)}:tag`, error: 'is 263 characters, over the limit of 255' },
  { input: `example.com/${'a'.repeat(256)}`, error: 'is 256 characters, over the limit of 255' },
  { input: `${'b'.repeat(248)}`, error: 'is 256 characters, over the limit of 255' },
  // registry host
  { input: '-docker.io/docker/docker', error: 'registry host "-docker.io" has an invalid component "-docker"' },
  { input: 'dock..er/docker', error: 'registry host "dock..er" has an empty component' },
  { input: 'foo_bar.com/app', error: 'registry host "foo_bar.com" has an invalid component "foo_bar"' },
  { input: 'localhost:/foo', error: 'has ":" but no port number' },
  { input: 'localhost:port/foo', error: 'registry port "port" in "localhost:port" is not a number' },
  { input: 'localhost:99999/foo', error: 'registry port 99999 in "localhost:99999" is out of range' },
  { input: ':5000/foo', error: 'has no host name before the port' },
  // IPv6
  { input: '[fc00::1]', error: 'registry "[fc00::1]" is not followed by a repository' },
  { input: '[fc00::1]:5000', error: 'registry "[fc00::1]:5000" is not followed by a repository' },
  { input: '[2001:db8::1]:tag', error: 'is not followed by a repository' },
  { input: 'fc00::1:5000/debian', error: 'looks like an IPv6 address; write it in brackets' },
  { input: '[fe80::1%eth0]:5000/debian', error: 'registry host "[fe80::1%eth0]" has an IPv6 zone identifier' },
  { input: 'a.b_c-d/e', error: 'registry host "a.b_c-d" has an invalid component "b_c-d"' },
  { input: '[2001:db8:3:4::192.0.2.33]:5000/debian', error: 'embeds an IPv4 address' },
  { input: '[2001:db8::1/repo', error: 'has an unclosed "["' },
  { input: '[2001:db8::1]x/repo', error: 'has "x" after the IPv6 address' },
  { input: '[zz::1]/repo', error: 'registry host "[zz::1]" is not a valid IPv6 address' },
  // tag
  { input: 'nginx:', error: 'empty tag after ":"' },
  { input: 'nginx:-x', error: 'tag "-x" is invalid' },
  { input: 'nginx:.x', error: 'tag ".x" is invalid' },
  { input: 'nginx:a:b', error: 'tag "a:b" is invalid' },
  { input: 'nginx:a/b', error: 'registry port "a" in "nginx:a" is not a number' },
  { input: 'nginx:tåg', error: 'tag "tåg" is invalid' },
  { input: `nginx:${'t'.repeat(129)}`, error: 'is 129 characters, over the limit of 128' },
  // digest
  { input: 'nginx@', error: 'empty digest after "@"' },
  { input: 'repo@sha256:ffffffffffffffffffffffffffffffffff', error: 'digest "sha256:ffffffffffffffffffffffffffffffffff" is invalid: sha256 needs exactly 64 lowercase hex characters, got 34' },
  { input: `validname@invaliddigest:${H}`, error: 'unsupported algorithm "invaliddigest"' },
  { input: `nginx@sha384:${'f'.repeat(96)}`, error: 'unsupported algorithm "sha384" (supported: sha256, sha512)' },
  { input: `nginx@sha256:${'F'.repeat(64)}`, error: 'uppercase hex is not allowed' },
  { input: `nginx@SHA256:${H}`, error: 'algorithm "SHA256" must be lowercase' },
  { input: `nginx@${H}`, error: 'no ":" between the algorithm and the hex' },
  { input: `nginx@${D}@${D}`, error: `digest "${D}@sha256:ffff` },
  { input: `nginx@${D}:tag`, error: '":" is not a hex digit' },
  { input: 'nginx@sha256:xyz', error: '"x" is not a hex digit' },
];
