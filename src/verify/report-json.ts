import type { VerifyReport } from './report.js';

/**
 * The report as JSON (docs/verify.md, "JSON report"): the VerifyReport object itself, field names
 * stable within a schemaVersion. One document, pretty-printed, ending in a newline.
 */
export function renderJson(report: VerifyReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
