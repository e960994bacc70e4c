import type { CatalogStats, CatalogWarningCode } from './catalog.js';

/** What the server reports as it runs; the CLI prints them as text lines or `--json` event lines. */
export type ServeEvent =
  | {
      event: 'ready';
      /** base URL clients use, e.g. http://127.0.0.1:5000 */
      url: string;
      /** the address bound, e.g. 0.0.0.0:5000 */
      listen: string;
      bundle: string;
      prefix: string;
      tls: boolean;
      stats: CatalogStats;
      /** time from start to listening */
      ms: number;
    }
  | { event: 'warning'; code: CatalogWarningCode; message: string }
  /** what the archive is and how it is read: a compressed one decompressed into a cache file, a docker-archive's made manifests */
  | { event: 'notice'; code: 'decompressed' | 'docker-archive'; message: string }
  | {
      event: 'request';
      method: string;
      /** the path and query as asked */
      path: string;
      status: number;
      /** body bytes sent */
      bytes: number;
      ms: number;
      remote: string;
      /** the spec error code answered, if any */
      error?: string;
      /** why a request failed: the reason of a 404, a read error, a client that went away */
      note?: string;
    }
  | { event: 'closing'; inFlight: number }
  /** inFlight: responses cut because they outlasted the shutdown timeout */
  | { event: 'closed'; forced: boolean; inFlight: number };

export type ServeEventHandler = (e: ServeEvent) => void;
