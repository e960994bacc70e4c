import { findings, type BundleCheck } from './check.js';
import { formatBytes, plural } from './format.js';

/** The tar itself: safe paths, regular files only, no duplicates, nothing cut short. */
export const structureCheck: BundleCheck = {
  name: 'structure',
  run({ reader }) {
    const f = findings('structure');
    const tar = reader.tar;
    for (const i of tar.issues) {
      f.add(i.severity, i.code, i.message, { offset: i.offset, ...(i.entry !== undefined ? { entry: i.entry } : {}) });
    }
    const files = tar.entries.filter((e) => e.type === 'file').length;
    const stats = { entries: tar.entries.length, files, fileSize: tar.fileSize, archiveEnd: tar.end };
    const errors = f.list.filter((x) => x.severity === 'error').length;
    const summary = tar.truncated
      ? `truncated: the archive ends at byte ${tar.fileSize} (${formatBytes(tar.fileSize)})`
      : errors
        ? `${plural(errors, 'problem')} in ${plural(tar.entries.length, 'entry', 'entries')}`
        : `${plural(tar.entries.length, 'entry', 'entries')}, ${formatBytes(tar.fileSize)}; paths safe, regular files only, no duplicates`;
    return { findings: f.list, stats, summary };
  },
};
