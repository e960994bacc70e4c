import { AirgapError, CheckError, UsageError, type ErrorKind } from '../errors.js';
import type { ListMismatch } from '../kubernetes/compare.js';

/** One thing wrong with the image set, found while resolving (all are reported together). */
export interface ResolveProblem {
  /** the image reference it concerns */
  ref: string;
  code: string;
  kind: ErrorKind;
  message: string;
  hint?: string;
  /** where it was looked up (endpoint URL, never credentials) */
  source?: string;
}

/** Order of precedence when problems of several kinds are reported together. */
const KIND_PRECEDENCE: ErrorKind[] = ['internal', 'auth', 'remote', 'usage', 'check', 'io', 'runtime'];

/**
 * Everything wrong with the image set, found before any layer moved: images that do not exist,
 * platforms an image does not publish, refused credentials, unreachable registries.
 */
export class ImageSetResolveError extends AirgapError {
  constructor(readonly problems: ResolveProblem[], total: number) {
    const kinds = new Set(problems.map((p) => p.kind));
    const kind = KIND_PRECEDENCE.find((k) => kinds.has(k)) ?? 'check';
    const lines = problems.map((p) => `  - ${p.ref}: ${p.message}`);
    const n = problems.length;
    const hints = [...new Set(problems.map((p) => p.hint).filter((h): h is string => !!h))];
    super(
      'ERR_IMAGE_SET',
      kind,
      `${n} problem${n === 1 ? '' : 's'} with the image set (${total} image${total === 1 ? '' : 's'}); nothing was transferred:\n${lines.join('\n')}`,
      {
        hint: hints.length ? hints.join('; ') : 'fix the references or the --platform choice and run pack again',
        details: { problems },
      },
    );
  }
}

/** A list entry with another tag than the version needs, and where the list has it. */
export interface ReportedMismatch extends ListMismatch {
  line?: number;
}

/** The distribution's image list names another tag of a repository than the Kubernetes version needs. */
export class ImageListMismatchError extends CheckError {
  constructor(readonly listFile: string, readonly kubernetes: string, readonly mismatches: ReportedMismatch[], outcome = 'nothing was transferred') {
    const lines = mismatches.map(
      (m) =>
        `  - ${m.repository}: the list has ${m.listRef}${m.line ? ` (line ${m.line})` : ''}, but Kubernetes ${kubernetes} needs ${m.neededRef}` +
        ` (its ${m.role} image)`,
    );
    super(
      'ERR_LIST_MISMATCH',
      `${listFile} does not match Kubernetes ${kubernetes}; ${outcome}:\n${lines.join('\n')}`,
      {
        hint:
          `the list was made for another Kubernetes version or distribution: use the list that comes with ${kubernetes}, ` +
          'or pass the --kubernetes version the list was made for',
        details: { list: listFile, kubernetes, mismatches },
      },
    );
  }
}

export class NoImagesError extends UsageError {
  constructor() {
    super('ERR_NO_IMAGES', 'nothing to pack: no --kubernetes version, --image, --images-file or --list given', {
      hint: 'e.g. airgap pack --kubernetes v1.30.14 -o k8s.tar',
    });
  }
}

export class LockFileError extends UsageError {
  constructor(readonly file: string, reason: string) {
    super('ERR_LOCK_FILE', `lock file ${file} cannot be used: ${reason}`, {
      hint: 'a lock file is written by airgap pack --lock; remove it to pin the current digests again',
      details: { file, reason },
    });
  }
}

/** --docker-platform names a platform the bundle will not hold: manifest.json would name no image. */
export class DockerPlatformNotPackedError extends UsageError {
  constructor(docker: string, packed: string) {
    super('ERR_DOCKER_PLATFORM_NOT_PACKED', `--docker-platform ${docker} is not among the platforms packed (${packed}): manifest.json (docker load) would name no image`, {
      hint: `add it to --platform (e.g. --platform ${packed},${docker}), or choose one of ${packed}`,
      details: { dockerPlatform: docker, platforms: packed },
    });
  }
}
