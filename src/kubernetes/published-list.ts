import { CheckError } from '../errors.js';
import { parseReference } from '../oci/reference.js';
import { compareImageLists, type ListComparison } from './compare.js';
import type { ListEntry } from './image-list.js';
import type { KubernetesImageSet, RequiredImage } from './image-set.js';
import { loadDistribution, type PublishedList } from './manifest-data.js';

/**
 * k3s and RKE2 publish the image list of each release (k3s-images.txt, rke2-images-core.linux-amd64.txt).
 * Given as --list, that list is the release's image set: airgap packs what it says and checks it against
 * what its data knows of the release. The pause decides: a list whose pause is not the release's is a
 * list for another release (or a node set up with another --pause-image), and every pod sandbox of that
 * node would be pulled from the internet.
 */
export interface PublishedListCheck {
  distribution: string;
  version: string;
  /** how the distribution names its list, e.g. "k3s-images.txt" */
  listName: string;
  /** the release's pause image, as the data has it */
  pause: RequiredImage;
  /** the list's pause images (entries whose repository is a pause), with their lines */
  listPauses: ListEntry[];
  /** true when the list holds the release's pause */
  pauseOk: boolean;
  /** every other difference: needed images the list lacks or names with another tag, and its extra images */
  comparison: ListComparison;
}

/** The published list of a distribution, when a --list of it is the release's set. */
export function authoritativeList(distribution: string): PublishedList | undefined {
  const list = loadDistribution(distribution).publishedList;
  return list?.authoritative ? list : undefined;
}

/** A pause image by its repository's last part: pause, mirrored-pause, pause-amd64. */
export function isPauseRepository(ref: string): boolean {
  const name = parseReference(ref).name;
  const last = name.slice(name.lastIndexOf('/') + 1);
  return /(^|-)pause(-[a-z0-9]+)?$/.test(last);
}

/** Compare a published list with what airgap knows of the release it claims to be. */
export function checkPublishedList(entries: ListEntry[], set: KubernetesImageSet): PublishedListCheck {
  const d = loadDistribution(set.distribution);
  const pause = set.images.find((i) => i.role === 'pause');
  if (!pause) throw new Error(`${set.distribution} ${set.version} has no pause image in its data`);
  const pauseRef = parseReference(pause.ref).toString();
  const listPauses = entries.filter((e) => isPauseRepository(e.ref));
  const pauseOk = entries.some((e) => {
    const r = parseReference(e.ref);
    return r.name === parseReference(pauseRef).name && r.tag === parseReference(pauseRef).tag;
  });
  return {
    distribution: set.distribution,
    version: set.version,
    listName: d.publishedList?.name ?? 'image list',
    pause: { ref: pauseRef, role: 'pause' },
    listPauses,
    pauseOk,
    comparison: compareImageLists(entries.map((e) => e.ref), set.images),
  };
}

/** "docker.io/rancher/mirrored-pause:3.10 (line 8)", or "none" */
export function describeListPauses(check: PublishedListCheck): string {
  if (check.listPauses.length === 0) return 'no pause image';
  return check.listPauses.map((e) => `${e.ref} (line ${e.line})`).join(', ');
}

/** What to do about a wrong pause: the right list, or the node's --pause-image to match the list. */
export function pauseHint(check: PublishedListCheck): string {
  const tool = check.distribution === 'rke2' ? 'rke2' : check.distribution;
  const theirs = check.listPauses[0]?.ref;
  return (
    `use the ${check.listName} published with ${check.version}, or pass the --kubernetes release the list was made for` +
    (theirs
      ? `; if your nodes really run ${theirs} as their sandbox image (${tool} --pause-image ${theirs}), pack it with --image ${theirs} and keep the release's list`
      : `; a list without a pause leaves every pod sandbox to be pulled from the internet`)
  );
}

/** The list's pause is not the release's: packing or trusting it would leave the node without its sandbox image. */
export class ListPauseMismatchError extends CheckError {
  constructor(readonly listFile: string, readonly check: PublishedListCheck, outcome = 'nothing was transferred') {
    super(
      'ERR_LIST_PAUSE_MISMATCH',
      `${listFile} is not the ${check.listName} of ${check.version} (${check.distribution}): its pause is ${describeListPauses(check)}, ` +
        `but ${check.version} runs ${check.pause.ref}; ${outcome}`,
      {
        hint: pauseHint(check),
        details: {
          list: listFile,
          distribution: check.distribution,
          kubernetes: check.version,
          releasePause: check.pause.ref,
          listPauses: check.listPauses.map((e) => ({ ref: e.ref, line: e.line })),
        },
      },
    );
  }
}

/** One line per difference that is not the pause, for notes and warnings. */
export function describeListDifferences(check: PublishedListCheck, lineOf: (ref: string) => number | undefined): string[] {
  const out: string[] = [];
  const at = (ref: string): string => {
    const line = lineOf(ref);
    return line === undefined ? '' : ` (line ${line})`;
  };
  const pauseName = parseReference(check.pause.ref).name;
  for (const m of check.comparison.missing) {
    if (m.role === 'pause') continue;
    out.push(`${check.version} has ${m.ref} (${m.role}); the list does not name it`);
  }
  for (const m of check.comparison.mismatched) {
    if (m.repository === pauseName) continue;
    out.push(`the list has ${m.listRef}${at(m.listRef)}; airgap knows ${check.version} with ${m.neededRef} (${m.role})`);
  }
  return out;
}
