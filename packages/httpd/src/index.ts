export { HTTPD_SOURCE, httpdBinary, httpdCompileOptions, httpdDefines } from './build.ts';
