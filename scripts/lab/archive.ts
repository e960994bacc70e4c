import { execa } from 'execa';

/**
 * Tar an OCI layout directory into an oci-archive (what `ctr images import` and skopeo's
 * oci-archive: read). Entries are named without a leading "./", as OCI tools write them.
 */
export async function layoutToArchive(layoutDir: string, tarFile: string): Promise<void> {
  await execa('tar', ['-C', layoutDir, '-cf', tarFile, 'oci-layout', 'index.json', 'blobs'], { stdin: 'ignore' });
}
