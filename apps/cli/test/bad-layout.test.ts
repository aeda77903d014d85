/** A layout whose index.json is broken gets one clear error naming the file, from every command that opens it. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.ts';

describe('opening a broken layout', () => {
  it.each([
    ['{"schemaVersion":2,"manifests":{}}', 'manifests: expected an array of descriptors, got an object'],
    ['null', 'expected a JSON object, got null'],
  ])(
    'index.json %s: inspect and push say what is wrong, without a stack trace',
    async (json, why) => {
      const { path, cleanup } = await tempDir('cli-badlayout-');
      try {
        const layout = join(path, 'oci');
        await mkdir(layout);
        await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
        await writeFile(join(layout, 'index.json'), json);
        for (const args of [
          ['inspect', layout],
          ['push', layout, '127.0.0.1:9/x'],
        ]) {
          const r = await cli(args);
          expect(r.status).toBe(1);
          expect(r.stderr).toContain(
            `error [OCI_INVALID_DOCUMENT]: ${join(layout, 'index.json')} is not an image index: ${why}`,
          );
          expect(r.stderr).not.toMatch(/is not a function|\n\s+at /);
        }
      } finally {
        await cleanup();
      }
    },
    60_000,
  );
});
