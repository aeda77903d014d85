export { binfmtRule, sandboxedBinfmtSupported } from './binfmt.ts';
export { type ContainerSpec, findBwrap, type SandboxSpec, sandboxArgs, type Volume } from './bwrap.ts';
export {
  type ContainerOptions,
  checkHostname,
  HOSTNAME_MAX,
  hostsFile,
  parseVolume,
  prepareContainer,
} from './container.ts';
export { parseEnvFile, readEnvFile } from './env-file.ts';
export { BwrapMissingError, RuntimeInputError, SandboxUnavailableError } from './errors.ts';
export {
  capabilities,
  capName,
  DEFAULT_CAPS,
  MASKED_PATHS,
  type ProcPath,
  READONLY_PATHS,
} from './hardening.ts';
export { runOnHost } from './host.ts';
export {
  commandLine,
  DEFAULT_PATH,
  programEnv,
  type ResolvedUser,
  resolveUser,
  splitUser,
} from './image-config.ts';
export { ImageView, isOpaque, isWhiteout, OPAQUE_XATTR } from './image-view.ts';
export { collectLayers, type LayerCollection, leaseLayers } from './layer-gc.ts';
export { type Located, locate } from './locate.ts';
export { type OuterNamespace, type Overlay, outerNamespacePrefix } from './outer-ns.ts';
export {
  type CachedLayers,
  cachedLayers,
  layerKeys,
  layersDir,
  overlayMarkers,
  rootfsCacheDir,
  topmostOnce,
  userOverlaySupported,
} from './rootfs-cache.ts';
export {
  hasBinfmt,
  hostIds,
  probeSandbox,
  runSandboxed,
  type SandboxRun,
  UNPRIVILEGED_HOST_ID,
  usernsHint,
} from './sandbox.ts';
export { defaultSeccomp, hostArches } from './seccomp.ts';
export { runInPty, type Terminal } from './terminal.ts';
export { giveTree, privateDir, removeTree, sweepPrivateDirs } from './workspace.ts';
