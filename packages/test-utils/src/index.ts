export { describeWithTools } from './describe.ts';
export { processesNaming } from './processes.ts';
export * from './registry/index.ts';
export { tempDir } from './temp.ts';
export { isCI, requireTools, TOOL_PACKAGES, toolPath } from './tools.ts';
