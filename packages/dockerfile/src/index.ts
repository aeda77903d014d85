/** @scratchpack/dockerfile — parse and evaluate the FROM-scratch subset of Dockerfiles into OCI images. */
export {
  type ApplyConfigOptions,
  type ApplyConfigResult,
  applyConfigInstructions,
  CONFIG_INSTRUCTIONS,
} from './apply.ts';
export { DockerfileError, type DockerfileErrorCode, type Position, type Warning } from './errors.ts';
export {
  DEFAULT_PATH,
  type EvaluateOptions,
  type EvaluateResult,
  evaluate,
  evaluateDockerfile,
} from './evaluate.ts';
export {
  type Dockerfile,
  type Flag,
  type Instruction,
  type ParseOptions,
  parse,
  parse as parseDockerfile,
} from './parser.ts';
export { expand, splitWords, type Word } from './words.ts';
