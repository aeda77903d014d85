/**
 * `scratchpack verify IMAGE --key pub.pem`: every manifest (the index and each platform image) must carry a
 * signature referrer that verifies with the key over its exact bytes, AND every config and layer those
 * manifests name must be the bytes their digests say (a signature over a manifest is worth nothing if a
 * layer can be swapped under it). IMAGE is resolved exactly as `run` resolves it; the digest it resolved to is
 * printed. Exits non-zero naming each manifest or blob that failed and why.
 */
import { AttestError, loadPublicKey } from '@scratchpack/attest';
import { checkContents } from '@scratchpack/transport';
import type { Command } from 'commander';
import { addRegistryFlags, clientOptions, type RegistryFlags } from '../registry-options.ts';
import { say, sayJson } from '../safe-text.ts';
import { check } from '../supply/signatures.ts';
import { openTarget } from '../supply/target.ts';
import { readKeyFile } from './sign.ts';

export function verifyCommand(program: Command): void {
  const cmd = program
    .command('verify')
    .description(
      'check that the index and every platform manifest are signed by the key, and that every config and layer matches its digest',
    )
    .argument(
      '<image>',
      'an image: a layout (dist/oci:latest), a stored name, a registry reference (see --help of scratchpack)',
    )
    .option('--key <file>', 'PEM public key (or the private key; its public half is used)')
    .option('--json', 'print the result as JSON');
  addRegistryFlags(cmd).action(
    async (ref: string, opts: RegistryFlags & { key?: string; json?: boolean }) => {
      const key = loadPublicKey(await readKeyFile(opts.key, '--key'), opts.key!);
      const target = await openTarget(ref, await clientOptions(opts));
      try {
        const results = [];
        for (const s of target.subjects) {
          results.push({ what: s.what, digest: s.descriptor.digest, failure: await check(target, s, key) });
        }
        const failed = results.filter((r) => r.failure);
        const contents = await checkContents(target.source);
        const resolved = { reference: ref, from: target.resolved, digest: target.source.descriptor.digest };
        if (opts.json)
          sayJson({
            verified: failed.length === 0 && contents.problems.length === 0,
            ...resolved,
            results,
            contents,
          });
        else {
          say(`${ref}: ${resolved.from}, ${resolved.digest}`);
          for (const r of results) if (!r.failure) say(`verified ${r.what} ${r.digest}`);
          if (contents.problems.length === 0)
            say(`checked ${contents.checked} blobs (configs and layers): each matches its digest`);
        }
        if (failed.length) {
          throw new AttestError(
            'ATTEST_VERIFY_FAILED',
            `${failed.length} of ${results.length} manifests of ${ref} (${resolved.from}, ${resolved.digest}) failed verification:\n${failed.map((f) => `  - ${f.failure}`).join('\n')}`,
            'sign them with `scratchpack sign … --key KEY`, or pass the public key that signed them',
          );
        }
        if (contents.problems.length) {
          throw new AttestError(
            'ATTEST_VERIFY_FAILED',
            `${ref} (${resolved.from}, ${resolved.digest}): the signatures hold, but ${contents.problems.length} blob(s) are not what the signed manifests name:\n${contents.problems.map((p) => `  - ${p}`).join('\n')}`,
            'the image was changed after it was signed: do not run it; rebuild or pull it again from a source you trust',
          );
        }
      } finally {
        await target.close();
      }
    },
  );
}
