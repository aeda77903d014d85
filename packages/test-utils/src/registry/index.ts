export { freePort } from '@scratchpack/local-registry';
export {
  type FaultAction,
  type FaultProxy,
  type FaultRule,
  type ProxiedRequest,
  startFaultProxy,
} from './fault-proxy.ts';
export {
  type HostileAction,
  type HostileContent,
  type HostileRegistry,
  type HostileRequest,
  type HostileRule,
  startHostileRegistry,
} from './hostile.ts';
export { DEFAULT_USERS, type RunningRegistry, type StartRegistryOptions, startRegistry } from './registry.ts';
export {
  startTokenServer,
  type TokenRequest,
  type TokenServer,
  type TokenServerOptions,
} from './token-server.ts';
export { type SelfSignedCert, selfSignedCert } from './x509.ts';
