/**
 * `scratchpack sign <ref|layout:tag> --key key.pem`: sign the index and every platform manifest with an
 * ECDSA P-256 key, offline; each signature is a Sigstore bundle (DSSE, as cosign v3 signs) stored as a
 * referrer of what it signs.
 */
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { loadPrivateKey, signSubject } from '@scratchpack/attest';
import { parseSourceDateEpoch } from '@scratchpack/oci';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { addRegistryFlags, clientOptions, type RegistryFlags } from '../registry-options.ts';
import { say, sayJson } from '../safe-text.ts';
import { check } from '../supply/signatures.ts';
import { openTarget } from '../supply/target.ts';

export async function readKeyFile(path: string | undefined, flag: string): Promise<Buffer> {
  if (!path) throw new UsageError(`${flag} is required`, `e.g. ${flag} key.pem`);
  return readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`${flag} ${path}: cannot read it (${e.code ?? e.message})`);
  });
}

export function signCommand(program: Command): void {
  const cmd = program
    .command('sign')
    .description(
      'sign an image index and each platform manifest with a key (Sigstore bundles as OCI referrers)',
    )
    .argument(
      '<image>',
      'an image: a layout (dist/oci:latest), a stored name, a registry reference (see --help of scratchpack)',
    )
    .option('--key <file>', 'PEM ECDSA P-256 private key (encrypted PKCS#8: passphrase in $COSIGN_PASSWORD)')
    .option('--json', 'print what was signed as JSON');
  addRegistryFlags(cmd).action(
    async (ref: string, opts: RegistryFlags & { key?: string; json?: boolean }) => {
      const pem = await readKeyFile(opts.key, '--key');
      // An unset secret reaches a workflow step as an empty string: no passphrase.
      const key = loadPrivateKey(pem, opts.key!, process.env.COSIGN_PASSWORD || undefined);
      const target = await openTarget(ref, await clientOptions(opts));
      try {
        const sourceDateEpoch = parseSourceDateEpoch(process.env.SOURCE_DATE_EPOCH);
        // Signing again with the same key adds nothing: ECDSA signatures differ each time, so a second run would
        // otherwise add a second, different signature referrer to each manifest.
        const publicKey = createPublicKey(key);
        const todo: typeof target.subjects = [];
        const already: typeof target.subjects = [];
        for (const s of target.subjects)
          ((await check(target, s, publicKey, { quiet: true })) === undefined ? already : todo).push(s);
        const artifacts = todo.map((s) => signSubject(s.descriptor, s.raw, key, { sourceDateEpoch }));
        const fallbackTags = artifacts.length ? await target.attach(artifacts) : [];
        const signed = todo.map((s, i) => ({
          what: s.what,
          digest: s.descriptor.digest,
          signature: artifacts[i]!.descriptor.digest,
        }));
        const alreadySigned = already.map((s) => ({ what: s.what, digest: s.descriptor.digest }));
        if (opts.json) {
          sayJson({ signed, alreadySigned, fallbackTags });
          return;
        }
        for (const s of signed) say(`signed ${s.what} ${s.digest}`);
        for (const s of alreadySigned) say(`already signed with this key: ${s.what} ${s.digest}`);
        if (fallbackTags.length) say(`referrers fallback tags: ${fallbackTags.length}`);
      } finally {
        await target.close();
      }
    },
  );
}
