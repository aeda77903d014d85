export { requireTools, toolPath, isCI, TOOL_PACKAGES } from './tools.ts';
export { describeWithTools } from './describe.ts';
export { tempDir } from './temp.ts';
export * from './registry/index.ts';
