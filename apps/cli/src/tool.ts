/** This tool, as the SBOMs and provenance documents it writes name it. */
// A static import, so the esbuild bundle carries the version too.
import cliPackage from '../package.json' with { type: 'json' };

export const TOOL = { name: 'scratchpack', version: cliPackage.version };
