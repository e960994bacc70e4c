/**
 * Quote user input for a message: JSON escaping keeps control characters and newlines off the
 * terminal, the cut keeps a pasted megabyte out of logs. Internal (not re-exported).
 */
export function quote(value: string, max = 120): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}
