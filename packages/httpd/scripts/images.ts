/**
 * Compile httpd for every platform and pack it into one multi-arch image in one step, with
 * @scratchpack/builder (zig compiles, each binary is checked to be a static ELF for its platform, then this
 * Dockerfile is packed): the OCI layout dist/httpd/oci (tags `latest` and the package version) and the OCI
 * archive dist/httpd/httpd.oci.tar at the repository root.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageImage, summary } from '@scratchpack/builder';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '..', '..', 'dist', 'httpd');

const result = await packageImage({
  dir: root,
  title: 'httpd',
  description: 'A tiny static HTTP server (C, musl) in a FROM-scratch image, built by scratchpack',
  cSources: ['src/httpd.c'],
  layout: join(out, 'oci'),
  archive: join(out, 'httpd.oci.tar'),
  onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
});
console.log(summary(result));
