export {
  HELLO_FLAGS,
  HELLO_MIPS_FLAGS,
  HELLO_SOURCE,
  helloBinary,
  helloCompileOptions,
  helloFlags,
  platformDefine,
} from './build.ts';
