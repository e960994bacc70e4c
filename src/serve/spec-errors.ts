/**
 * The error codes of the distribution spec that a read-only registry answers with, with the HTTP
 * status and the default message distribution 2.8 uses for each (clients print the message).
 */
export const SpecError = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  UNSUPPORTED: { status: 405, message: 'The operation is unsupported.' },
} as const;

export type SpecErrorCode = keyof typeof SpecError;

export interface SpecErrorBody {
  errors: { code: SpecErrorCode; message: string; detail?: unknown }[];
}

export function specErrorBody(code: SpecErrorCode, message?: string, detail?: unknown): SpecErrorBody {
  return { errors: [{ code, message: message ?? SpecError[code].message, ...(detail === undefined ? {} : { detail }) }] };
}
