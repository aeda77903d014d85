export {
  HELLO_FLAGS,
  HELLO_PLATFORM_FLAGS,
  HELLO_SOURCE,
  helloBinary,
  helloCompileOptions,
  helloFlags,
  platformDefine,
} from './build.ts';
