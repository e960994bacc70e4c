import { isManifestMediaType, isSchema1MediaType, MediaType, normalizeMediaType } from '../oci/media-type.js';

const REFUSAL: Record<string, string> = {
  [MediaType.OciIndex]: 'OCI index found, but accept header does not support OCI indexes',
  [MediaType.OciManifest]: 'OCI manifest found, but accept header does not support OCI manifests',
  [MediaType.DockerManifestList]: 'Docker manifest list found, but accept header does not support manifest lists',
  [MediaType.DockerManifest]: 'Docker schema 2 manifest found, but accept header does not support it',
};

/**
 * Whether a manifest of `mediaType` may be sent to a client with this Accept header; a refusal
 * message when not. We convert nothing (digests must stay the bundle's), so the only choice is to
 * send the manifest or refuse.
 *
 * distribution 2.8 refuses OCI types unless Accept names them, even with no Accept or `*∕*` (so
 * plain curl gets 404), and for Docker types fails a schema 1 conversion with 400. We refuse only
 * a client that lists manifest types and not this one, with distribution's 404 MANIFEST_UNKNOWN
 * and message; no Accept, a wildcard, or an Accept about other things gets the manifest as stored.
 */
export function acceptRefusal(accept: string | string[] | undefined, mediaType: string): string | undefined {
  const values = (Array.isArray(accept) ? accept : accept === undefined ? [] : [accept])
    .flatMap((v) => v.split(','))
    .map((v) => normalizeMediaType(v))
    .filter(Boolean);
  const want = normalizeMediaType(mediaType);
  if (values.length === 0) return undefined;
  if (values.some((v) => v === want || v === '*/*' || v === 'application/*')) return undefined;
  if (!values.some((v) => isManifestMediaType(v) || isSchema1MediaType(v))) return undefined;
  return REFUSAL[want] ?? `${mediaType} found, but accept header does not support it`;
}
