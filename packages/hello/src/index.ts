export { HELLO_SOURCE, helloBinary, helloCompileOptions, platformDefine } from './build.ts';
