import { CheckError, UsageError } from '../errors.js';

/** What can be wrong with the images a bundle names: no usable name, missing content, hostile nesting. */

/** An index.json entry whose name is not a full image reference (skopeo stores only "3.9"). */
export class ImageNameUnknownError extends UsageError {
  constructor(name: string | undefined, digest: string) {
    super('ERR_IMAGE_NAME_UNKNOWN', name
      ? `the bundle names image ${digest} only "${name}", not a full reference like registry.k8s.io/pause:3.9`
      : `the bundle does not name image ${digest}`, {
      hint: 'pass --base-name REPOSITORY (e.g. --base-name registry.k8s.io/pause) so "3.9" becomes registry.k8s.io/pause:3.9',
      details: { name, digest },
    });
  }
}

/** The bundle lacks content an image it lists needs (not a platform left out on purpose). */
export class BundleContentMissingError extends CheckError {
  constructor(image: string, digest: string, bundle: string) {
    super('ERR_BUNDLE_CONTENT_MISSING', `bundle ${bundle} lacks blob ${digest} of image ${image}`, {
      hint: `run "airgap verify ${bundle}" to see what else is missing; pack the bundle again`,
      details: { image, digest, bundle },
    });
  }
}

/** Indexes nested deeper than any real image (a hostile bundle); refused before anything is pushed. */
export class BundleGraphTooDeepError extends CheckError {
  constructor(image: string, digest: string, bundle: string, limit: number) {
    super('ERR_BUNDLE_GRAPH_TOO_DEEP', `bundle ${bundle}: image ${image} nests manifests more than ${limit} levels deep (at ${digest})`, {
      hint: 'real images are an index over manifests (2 levels); this bundle was not made by a registry or by airgap pack — get it from a trusted source',
      details: { image, digest, bundle, limit },
    });
  }
}
