// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, where ${VAR} is the syntax under test
import { join } from 'node:path';
import { MediaTypes, validateImage } from '@scratchpack/oci';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_PATH, evaluate, evaluateDockerfile } from '../src/index.ts';
import { layerListing, makeTree } from './helpers.ts';

let ctx: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: ctx, cleanup } = await tempDir('dockerfile-ctx-'));
  await makeTree(ctx, {
    hello: { content: '#!hello\n', mode: 0o755 },
    'README.md': 'readme\n',
    'conf/a.txt': 'a\n',
    'conf/b.txt': 'b\n',
    'conf/sub/c.conf': 'c\n',
    'dist/amd64/hello': { content: 'amd64 binary\n', mode: 0o755 },
    'dist/arm64/hello': { content: 'arm64 binary\n', mode: 0o755 },
  });
});
afterEach(() => cleanup());

const FLAGSHIP = 'FROM scratch\nCOPY hello /\nCMD ["/hello"]\n';

describe('evaluate', () => {
  it('builds the flagship Dockerfile like BuildKit would', async () => {
    const img = await evaluate(FLAGSHIP, { context: ctx, platform: 'linux/amd64' });
    const cf = await img.configFile();
    expect(cf).toEqual({
      created: '1970-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: { Env: [DEFAULT_PATH], Cmd: ['/hello'], WorkingDir: '/' },
      rootfs: { type: 'layers', diff_ids: [expect.stringMatching(/^sha256:/)] },
      history: [
        {
          created: '1970-01-01T00:00:00Z',
          created_by: 'COPY hello / # buildkit',
          comment: 'buildkit.dockerfile.v0',
        },
        {
          created: '1970-01-01T00:00:00Z',
          created_by: 'CMD ["/hello"]',
          comment: 'buildkit.dockerfile.v0',
          empty_layer: true,
        },
      ],
    });
    expect(img.mediaType()).toBe(MediaTypes.ociManifest);
    expect(await layerListing(img)).toEqual([['file hello 755 0:0 #!hello']]);
    await validateImage(img);
  });

  it('applies every config instruction with substitution', async () => {
    const text = [
      'FROM scratch',
      'ARG VERSION=1.0',
      'ARG PORT',
      'ENV APP=hello HOME=/home/app',
      'ENV GREETING hello world',
      'ENV X=$APP-${VERSION} Y=${UNSET:-fallback} Z=${APP:+set} Q=\'$APP\' W="$APP"',
      'LABEL org.opencontainers.image.version=$VERSION "with space"="a b"',
      'EXPOSE ${PORT} 53/udp 8000-8001/TCP',
      'USER 65532:65532',
      'WORKDIR $HOME',
      'WORKDIR data',
      'STOPSIGNAL SIGINT',
      'VOLUME ["/data"]',
      'ENTRYPOINT ["/hello", "--serve"]',
      'CMD ["--port", "8080"]',
    ].join('\n');
    const { image, warnings } = await evaluateDockerfile(text, {
      context: ctx,
      platform: 'linux/arm64',
      buildArgs: { PORT: '8080' },
    });
    const cf = await image.configFile();
    expect(cf.config).toEqual({
      User: '65532:65532',
      ExposedPorts: { '53/udp': {}, '8000/tcp': {}, '8001/tcp': {}, '8080/tcp': {} },
      Env: [
        DEFAULT_PATH,
        'APP=hello',
        'HOME=/home/app',
        'GREETING=hello world',
        'X=hello-1.0',
        'Y=fallback',
        'Z=set',
        'Q=$APP',
        'W=hello',
      ],
      Entrypoint: ['/hello', '--serve'],
      Cmd: ['--port', '8080'],
      Volumes: { '/data': {} },
      WorkingDir: '/home/app/data',
      Labels: { 'org.opencontainers.image.version': '1.0', 'with space': 'a b' },
      StopSignal: 'SIGINT',
    });
    expect([cf.architecture, cf.variant]).toEqual(['arm64', 'v8']);
    expect(cf.rootfs.diff_ids).toEqual([]);
    expect(cf.history?.map((h) => h.created_by)).toEqual([
      'ARG VERSION=1.0',
      'ARG PORT=8080',
      'ENV APP=hello HOME=/home/app',
      'ENV GREETING=hello world',
      'ENV X=hello-1.0 Y=fallback Z=set Q=$APP W=hello',
      'LABEL org.opencontainers.image.version=1.0 with space=a b',
      'EXPOSE map[53/udp:{} 8000/tcp:{} 8001/tcp:{} 8080/tcp:{}]',
      'USER 65532:65532',
      'WORKDIR /home/app',
      'WORKDIR /home/app/data',
      'STOPSIGNAL SIGINT',
      'VOLUME [/data]',
      'ENTRYPOINT ["/hello" "--serve"]',
      'CMD ["--port" "8080"]',
    ]);
    expect(cf.history?.every((h) => h.empty_layer)).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('expands ENV pairs against the values before the instruction, as Docker does', async () => {
    const img = await evaluate('FROM scratch\nENV A=old\nENV A=new B=$A\n', {
      context: ctx,
      platform: 'linux/amd64',
    });
    expect((await img.configFile()).config.Env).toEqual([DEFAULT_PATH, 'A=new', 'B=old']);
  });

  it('offers TARGETARCH & co, global ARGs in FROM, and --build-arg overrides', async () => {
    const text =
      'ARG BASE=scratch\nFROM $BASE\nARG TARGETARCH\nARG TARGETPLATFORM\nARG MSG=default\nCOPY dist/${TARGETARCH}/hello /hello\nLABEL p=$TARGETPLATFORM msg=$MSG\n';
    for (const arch of ['amd64', 'arm64']) {
      const { image, warnings } = await evaluateDockerfile(text, {
        context: ctx,
        platform: `linux/${arch}`,
        buildArgs: { MSG: 'hi', EXTRA: '1' },
      });
      expect(await layerListing(image)).toEqual([[`file hello 755 0:0 ${arch} binary`]]);
      expect((await image.configFile()).config.Labels).toEqual({ p: `linux/${arch}`, msg: 'hi' });
      expect(warnings).toEqual([
        expect.objectContaining({ code: 'UNUSED_BUILD_ARG', message: expect.stringContaining('EXTRA') }),
      ]);
    }
  });

  it('copies globs, directories (contents), relative destinations under WORKDIR, and preserves disk modes', async () => {
    const text =
      'FROM scratch\nCOPY conf/*.txt /etc/app/\nCOPY conf /opt/conf/\nWORKDIR /srv\nCOPY hello README.md ./\nCOPY hello bin/tool\n';
    const img = await evaluate(text, { context: ctx, platform: 'linux/amd64' });
    expect(await layerListing(img)).toEqual([
      [
        'dir etc 755 0:0',
        'dir etc/app 755 0:0',
        'file etc/app/a.txt 644 0:0 a',
        'file etc/app/b.txt 644 0:0 b',
      ],
      [
        'dir opt 755 0:0',
        'dir opt/conf 755 0:0',
        'file opt/conf/a.txt 644 0:0 a',
        'file opt/conf/b.txt 644 0:0 b',
        'dir opt/conf/sub 755 0:0',
        'file opt/conf/sub/c.conf 644 0:0 c',
      ],
      ['dir srv 755 0:0', 'file srv/README.md 644 0:0 readme', 'file srv/hello 755 0:0 #!hello'],
      ['dir srv 755 0:0', 'dir srv/bin 755 0:0', 'file srv/bin/tool 755 0:0 #!hello'],
    ]);
    const cf = await img.configFile();
    expect(cf.rootfs.diff_ids).toHaveLength(4);
    expect(cf.history?.filter((h) => !h.empty_layer)).toHaveLength(4);
  });

  it('copies several directories into one: a file in a later source replaces the same path from an earlier one', async () => {
    await makeTree(ctx, {
      'one/same.txt': '1\n',
      'one/a.txt': 'a\n',
      'two/same.txt': '2\n',
      'two/b.txt': 'b\n',
    });
    const img = await evaluate('FROM scratch\nCOPY one two /x/\n', { context: ctx, platform: 'linux/amd64' });
    expect(await layerListing(img)).toEqual([
      ['dir x 755 0:0', 'file x/a.txt 644 0:0 a', 'file x/b.txt 644 0:0 b', 'file x/same.txt 644 0:0 2'],
    ]);
  });

  it('applies --chmod and numeric --chown', async () => {
    const img = await evaluate('FROM scratch\nCOPY --chmod=0700 --chown=1000 hello conf/a.txt /app/\n', {
      context: ctx,
      platform: 'linux/amd64',
    });
    expect(await layerListing(img)).toEqual([
      ['dir app 755 0:0', 'file app/a.txt 700 1000:1000 a', 'file app/hello 700 1000:1000 #!hello'],
    ]);
  });

  it('ADD extracts local tar and tar.gz archives and copies other files as they are', async () => {
    const { execFileSync } = await import('node:child_process');
    await makeTree(ctx, { 'pkg/usr/share/x': 'x\n', 'pkg/usr/bin/y': { content: 'y\n', mode: 0o755 } });
    execFileSync('tar', ['-czf', join(ctx, 'pkg.tar.gz'), '-C', join(ctx, 'pkg'), 'usr']);
    execFileSync('tar', ['-cf', join(ctx, 'plain.tar'), '-C', join(ctx, 'pkg'), 'usr/share/x']);
    const img = await evaluate('FROM scratch\nADD pkg.tar.gz /\nADD plain.tar /opt\nADD README.md /doc/\n', {
      context: ctx,
      platform: 'linux/amd64',
    });
    const [gz, plain, readme] = await layerListing(img);
    expect(gz).toEqual([
      'dir usr 755 0:0',
      'dir usr/bin 755 0:0',
      'file usr/bin/y 755 0:0 y',
      'dir usr/share 755 0:0',
      'file usr/share/x 644 0:0 x',
    ]);
    expect(plain).toEqual([
      'dir opt 755 0:0',
      'dir opt/usr 755 0:0',
      'dir opt/usr/share 755 0:0',
      'file opt/usr/share/x 644 0:0 x',
    ]);
    expect(readme).toEqual(['dir doc 755 0:0', 'file doc/README.md 644 0:0 readme']);
    expect((await img.configFile()).history?.map((h) => h.created_by)).toEqual([
      'ADD pkg.tar.gz / # buildkit',
      'ADD plain.tar /opt # buildkit',
      'ADD README.md /doc/ # buildkit',
    ]);
  });

  it('honours .dockerignore and keeps symlinks inside copied directories', async () => {
    await makeTree(ctx, {
      '.dockerignore': '# comment\n**/*.conf\nREADME.md\n',
      'conf/link': { symlink: 'a.txt' },
    });
    const img = await evaluate('FROM scratch\nCOPY . /ctx/\n', { context: ctx, platform: 'linux/amd64' });
    const [listing] = await layerListing(img);
    expect(listing).toContain('symlink ctx/conf/link -> a.txt');
    expect(listing!.map((l) => l.split(' ')[1]).filter((p) => /c\.conf|README/.test(p!))).toEqual([]);
    expect(listing).toContain('file ctx/hello 755 0:0 #!hello');
  });

  it('turns shell-form CMD/ENTRYPOINT into /bin/sh -c with a warning; ENTRYPOINT drops an inherited CMD only', async () => {
    const { image, warnings } = await evaluateDockerfile(
      'FROM scratch\nCOPY hello /bin/sh\nCMD ["/a"]\nENTRYPOINT /hello --x\n',
      { context: ctx, platform: 'linux/amd64' },
    );
    const c = (await image.configFile()).config;
    expect(c.Entrypoint).toEqual(['/bin/sh', '-c', '/hello --x']);
    expect(c.Cmd).toEqual(['/a']);
    expect(warnings).toEqual([
      expect.objectContaining({ code: 'SHELL_FORM_ON_SCRATCH', line: 4, column: 1 }),
    ]);
  });

  it('is deterministic: same inputs → same digest; other folder with the same content → same digest', async () => {
    const a = await evaluate(FLAGSHIP, { context: ctx, platform: 'linux/amd64' });
    const b = await evaluate(FLAGSHIP, { context: ctx, platform: 'linux/amd64' });
    expect((await a.digest()).equals(await b.digest())).toBe(true);
    const other = await tempDir('dockerfile-other-');
    try {
      await makeTree(other.path, { hello: { content: '#!hello\n', mode: 0o755 }, unrelated: 'x' });
      const c = await evaluate(FLAGSHIP, { context: other.path, platform: 'linux/amd64' });
      expect((await c.digest()).equals(await a.digest())).toBe(true);
    } finally {
      await other.cleanup();
    }
    const later = await evaluate(FLAGSHIP, {
      context: ctx,
      platform: 'linux/amd64',
      sourceDateEpoch: 1700000000,
    });
    expect((await later.digest()).equals(await a.digest())).toBe(false);
    expect((await later.configFile()).created).toBe('2023-11-14T22:13:20Z');
  });

  it('produces Docker media types on request, and uses a provided base image', async () => {
    const docker = await evaluate(FLAGSHIP, { context: ctx, platform: 'linux/amd64', family: 'docker' });
    expect((await docker.manifest()).layers[0]!.mediaType).toBe(MediaTypes.dockerLayerGzip);
    const base = await evaluate('FROM scratch\nCOPY README.md /\nCMD ["/base"]\nENV B=1\n', {
      context: ctx,
      platform: 'linux/amd64',
    });
    const child = await evaluate('FROM example.com/base:1\nENTRYPOINT ["/hello"]\nCOPY hello /\n', {
      context: ctx,
      platform: 'linux/amd64',
      resolveBase: async (ref, p) => {
        expect([ref, p.architecture]).toEqual(['example.com/base:1', 'amd64']);
        return base;
      },
    });
    const cf = await child.configFile();
    expect(cf.rootfs.diff_ids).toHaveLength(2);
    expect(cf.config.Cmd).toBeUndefined();
    expect(cf.config.Env).toEqual([DEFAULT_PATH, 'B=1']);
    expect(cf.history).toHaveLength(5);
    await validateImage(child);
  });
});
