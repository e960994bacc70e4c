/**
 * What a file that is not a tar archive is instead, from its first bytes: the sentence a user
 * needs ("gzip-compressed data: decompress it first") rather than "bad header".
 */

interface Signature {
  magic: number[];
  offset?: number;
  what: string;
  hint: string;
}

const SIGNATURES: Signature[] = [
  { magic: [0x1f, 0x8b], what: 'gzip-compressed data', hint: 'decompress it first (gunzip -k FILE), then verify the .tar' },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], what: 'zstd-compressed data', hint: 'decompress it first (zstd -d FILE), then verify the .tar' },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: 'xz-compressed data', hint: 'decompress it first (xz -dk FILE), then verify the .tar' },
  { magic: [0x42, 0x5a, 0x68], what: 'bzip2-compressed data', hint: 'decompress it first (bunzip2 -k FILE), then verify the .tar' },
  { magic: [0x04, 0x22, 0x4d, 0x18], what: 'lz4-compressed data', hint: 'decompress it first (lz4 -d FILE), then verify the .tar' },
  { magic: [0x50, 0x4b, 0x03, 0x04], what: 'a zip archive', hint: 'a bundle is a tar archive made by airgap pack (or an OCI layout tar such as skopeo oci-archive)' },
  { magic: [0x7f, 0x45, 0x4c, 0x46], what: 'an ELF executable', hint: 'pass the bundle .tar, not a program' },
  { magic: [0x25, 0x50, 0x44, 0x46], what: 'a PDF document', hint: 'pass the bundle .tar' },
];

export interface NonTarDescription {
  /** "gzip-compressed data", "empty", "a JSON document", "not a tar archive" */
  what: string;
  hint: string;
}

/** Describe the first bytes of a file that failed to parse as tar. */
export function describeNonTar(head: Buffer, fileSize: number): NonTarDescription {
  if (fileSize === 0) return { what: 'an empty file', hint: 'the bundle was not written completely; pack or copy it again' };
  for (const s of SIGNATURES) {
    const off = s.offset ?? 0;
    if (head.length >= off + s.magic.length && s.magic.every((m, i) => head[off + i] === m)) return { what: s.what, hint: s.hint };
  }
  const text = head.subarray(0, Math.min(head.length, 512)).toString('utf8').trimStart();
  if (text.startsWith('{') || text.startsWith('[')) {
    return { what: 'a JSON document', hint: 'pass the bundle .tar itself, not a file taken out of it' };
  }
  if (fileSize < 512) {
    return { what: `a ${fileSize}-byte file, too short to be a tar archive`, hint: 'the bundle was not written completely; pack or copy it again' };
  }
  if (isMostlyText(head)) {
    return { what: 'a text file', hint: 'pass the bundle .tar; an image list goes to --list' };
  }
  return { what: 'not a tar archive (no valid tar header at byte 0)', hint: 'pass a bundle made by airgap pack, or an OCI layout tar (skopeo oci-archive, ctr images export)' };
}

function isMostlyText(b: Buffer): boolean {
  const n = Math.min(b.length, 512);
  if (n === 0) return false;
  let printable = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c === 0x09 || c === 0x0a || c === 0x0d || (c >= 0x20 && c < 0x7f) || c >= 0x80) printable++;
  }
  return printable === n;
}
