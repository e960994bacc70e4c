/**
 * Where --json events (and the final error event) go: stdout, unless a command streams its data
 * there (pack -o -), in which case it moves them to stderr so the data stays clean.
 */
let stream: NodeJS.WritableStream = process.stdout;

export function setEventStream(s: NodeJS.WritableStream): void {
  stream = s;
}

export function eventStream(): NodeJS.WritableStream {
  return stream;
}
