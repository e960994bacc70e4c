import { HttpConnectionError } from './errors.js';

const MAX_LINE = 8 * 1024;
const MAX_TRAILERS = 64 * 1024;

type State = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

/**
 * Decodes a chunked body (RFC 9112 §7.1) as it arrives in arbitrary pieces. Body bytes are handed
 * out as slices of the input (no copy); chunk extensions and trailer fields are skipped.
 */
export class ChunkedDecoder {
  private state: State = 'size';
  private remaining = 0;
  private line = '';
  private trailerBytes = 0;

  get done(): boolean {
    return this.state === 'done';
  }

  /** Feed wire bytes; returns how many were consumed (fewer than given only once the body ended). */
  feed(buf: Buffer, onBody: (b: Buffer) => void): number {
    let i = 0;
    while (i < buf.length && this.state !== 'done') {
      if (this.state === 'data') {
        const n = Math.min(this.remaining, buf.length - i);
        onBody(buf.subarray(i, i + n));
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'data-end';
        continue;
      }
      // size line, CRLF after data, trailer lines: read up to LF
      const lf = buf.indexOf(10, i);
      const end = lf < 0 ? buf.length : lf;
      this.line += buf.toString('latin1', i, end);
      i = lf < 0 ? buf.length : lf + 1;
      if (this.line.length > MAX_LINE) throw bad('chunk size line too long');
      if (lf < 0) break;
      const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
      this.line = '';
      this.onLine(line);
    }
    return i;
  }

  private onLine(line: string): void {
    switch (this.state) {
      case 'size': {
        const hex = line.split(';', 1)[0]!.trim();
        if (!/^[0-9a-fA-F]{1,13}$/.test(hex)) throw bad(`invalid chunk size "${line.slice(0, 20)}"`);
        this.remaining = parseInt(hex, 16);
        this.state = this.remaining === 0 ? 'trailer' : 'data';
        return;
      }
      case 'data-end':
        if (line !== '') throw bad('chunk data longer than its declared size');
        this.state = 'size';
        return;
      case 'trailer':
        this.trailerBytes += line.length + 2;
        if (this.trailerBytes > MAX_TRAILERS) throw bad('trailer fields too large');
        if (line === '') this.state = 'done';
        return;
      default:
        return;
    }
  }
}

function bad(message: string): HttpConnectionError {
  return new HttpConnectionError('AIRGAP_HTTP_BAD_RESPONSE', message);
}
