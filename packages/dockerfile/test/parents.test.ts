/** Parent images (FROM <ref> through resolveBase) and config-only changes applied to an existing image. */
import {
  appendLayers,
  emptyImage,
  layerFromEntries,
  MediaTypes,
  validateImage,
  withAnnotations,
  withConfig,
  withMediaTypeFamily,
} from '@scratchpack/oci';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyConfigInstructions, CONFIG_INSTRUCTIONS, DockerfileError, evaluate } from '../src/index.ts';
import { makeTree } from './helpers.ts';

let ctx: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: ctx, cleanup } = await tempDir('dockerfile-parents-'));
  await makeTree(ctx, { app: { content: 'app\n', mode: 0o755 } });
});
afterEach(() => cleanup());

/** A parent like an imported rootfs: one layer, Env/Cmd/WorkingDir/User/Labels/ExposedPorts set. */
async function parent() {
  const layer = layerFromEntries([{ type: 'file', path: 'bin/sh', content: Buffer.from('sh'), mode: 0o755 }]);
  const img = await appendLayers(emptyImage({ platform: { os: 'linux', architecture: 'amd64' } }), {
    layer,
    history: { created_by: 'scratchpack import', comment: 'Imported from rootfs.tar' },
  });
  const configured = await withConfig(img, {
    Env: ['PATH=/bin', 'A=1'],
    Cmd: ['/bin/sh'],
    WorkingDir: '/srv',
    User: '1000',
    Labels: { from: 'parent' },
    ExposedPorts: { '80/tcp': {} },
  });
  return withAnnotations(configured, { 'org.opencontainers.image.title': 'parent' });
}

describe('FROM a parent image', () => {
  it('puts the parent layers first and inherits config and history as Docker does', async () => {
    const base = await parent();
    const child = await evaluate('FROM base\nENV B=$A-2\nCOPY app /srv/\nLABEL child=yes\n', {
      context: ctx,
      platform: 'linux/amd64',
      resolveBase: async () => base,
    });
    const [pl] = await base.layers();
    const layers = await child.layers();
    expect(layers).toHaveLength(2);
    expect((await layers[0]!.digest()).toString()).toBe((await pl!.digest()).toString());
    const cf = await child.configFile();
    expect(cf.config).toEqual({
      Env: ['PATH=/bin', 'A=1', 'B=1-2'],
      Cmd: ['/bin/sh'],
      WorkingDir: '/srv',
      User: '1000',
      Labels: { from: 'parent', child: 'yes' },
      ExposedPorts: { '80/tcp': {} },
    });
    expect(cf.history!.map((h) => h.created_by)).toEqual([
      'scratchpack import',
      'ENV B=1-2',
      'COPY app /srv/ # buildkit',
      'LABEL child=yes',
    ]);
    expect((await child.manifest()).annotations).toBeUndefined();
    await validateImage(child);
  });

  it('ENTRYPOINT resets an inherited CMD, unless CMD is set again', async () => {
    const base = await parent();
    const opts = { context: ctx, platform: 'linux/amd64', baseImage: base };
    const a = await evaluate('FROM base\nENTRYPOINT ["/app"]\n', opts);
    expect((await a.configFile()).config.Cmd).toBeUndefined();
    const b = await evaluate('FROM base\nCMD ["-v"]\nENTRYPOINT ["/app"]\n', opts);
    expect((await b.configFile()).config).toMatchObject({ Entrypoint: ['/app'], Cmd: ['-v'] });
  });

  it('converts a Docker-media-type parent to the OCI family', async () => {
    const docker = await withMediaTypeFamily(await parent(), 'docker');
    const child = await evaluate('FROM base\nCOPY app /\n', {
      context: ctx,
      platform: 'linux/amd64',
      baseImage: docker,
    });
    expect(child.mediaType()).toBe(MediaTypes.ociManifest);
    expect((await child.manifest()).layers.map((l) => l.mediaType)).toEqual([
      MediaTypes.ociLayerGzip,
      MediaTypes.ociLayerGzip,
    ]);
  });

  it('a failing resolver becomes a positioned DOCKERFILE_BASE_IMAGE error with its hint', async () => {
    const err = await evaluate('# base\nFROM   oci:missing:1\n', {
      context: ctx,
      platform: 'linux/amd64',
      resolveBase: async () => {
        throw Object.assign(new Error('no OCI layout at missing'), {
          code: 'OCI_LAYOUT_NOT_FOUND',
          hint: 'h',
        });
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DockerfileError);
    expect((err as DockerfileError).code).toBe('DOCKERFILE_BASE_IMAGE');
    expect((err as DockerfileError).message).toBe(
      'Dockerfile:2:8: FROM: cannot use oci:missing:1: no OCI layout at missing',
    );
    expect((err as DockerfileError).hint).toBe('h');
  });

  it('refuses a parent of another architecture', async () => {
    const err = await evaluate('FROM base\n', {
      context: ctx,
      platform: 'linux/arm64',
      baseImage: await parent(),
    }).catch((e: unknown) => e);
    expect((err as DockerfileError).message).toMatch(/base image base is linux\/amd64, not linux\/arm64\/v8/);
  });
});

describe('applyConfigInstructions', () => {
  it('applies CMD/ENV/… to the config and keeps layers and history (docker import --change)', async () => {
    const base = await parent();
    const { image } = await applyConfigInstructions(base, [
      'CMD ["/bin/sh", "-c", "echo $A"]',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile substitution syntax
      'ENV A=2 C=${A}3',
      'WORKDIR sub',
      'EXPOSE 8080/udp',
      'STOPSIGNAL SIGINT',
      'VOLUME /data',
      'USER 0:0',
      'LABEL x=y',
      'ENTRYPOINT ["/bin/env"]',
    ]);
    const cf = await image.configFile();
    expect(cf.config).toEqual({
      Env: ['PATH=/bin', 'A=2', 'C=13'],
      Cmd: ['/bin/sh', '-c', 'echo $A'],
      Entrypoint: ['/bin/env'],
      WorkingDir: '/srv/sub',
      User: '0:0',
      Labels: { from: 'parent', x: 'y' },
      ExposedPorts: { '80/tcp': {}, '8080/udp': {} },
      StopSignal: 'SIGINT',
      Volumes: { '/data': {} },
    });
    expect(cf.history).toEqual((await base.configFile()).history);
    expect(await image.layers()).toHaveLength(1);
    await validateImage(image);
  });

  it('records history entries on request', async () => {
    const { image } = await applyConfigInstructions(await parent(), 'CMD ["/x"]\nENV Y=1', {
      history: true,
      sourceDateEpoch: 1700000000,
    });
    const h = (await image.configFile()).history!;
    expect(h.slice(1)).toEqual([
      expect.objectContaining({
        created_by: 'CMD ["/x"]',
        empty_layer: true,
        created: '2023-11-14T22:13:20Z',
      }),
      expect.objectContaining({ created_by: 'ENV Y=1', empty_layer: true }),
    ]);
  });

  it('refuses anything but the config instructions, naming the change', async () => {
    expect(CONFIG_INSTRUCTIONS).toEqual(
      expect.arrayContaining([
        'CMD',
        'ENTRYPOINT',
        'ENV',
        'LABEL',
        'USER',
        'WORKDIR',
        'EXPOSE',
        'STOPSIGNAL',
        'VOLUME',
      ]),
    );
    for (const [change, line] of [
      [['CMD ["/x"]', 'COPY a /'], 2],
      [['RUN echo'], 1],
      [['FROM scratch'], 1],
    ] as const) {
      const err = await applyConfigInstructions(await parent(), change).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DockerfileError);
      expect((err as DockerfileError).line).toBe(line);
      expect((err as DockerfileError).message).toMatch(
        /^--change:\d+:1: \w+: \w+ cannot be applied as a change/,
      );
    }
    const bad = await applyConfigInstructions(await parent(), 'EXPOSE http').catch((e: unknown) => e);
    expect((bad as DockerfileError).message).toMatch(/--change:1:8: EXPOSE: invalid port "http"/);
  });
});
