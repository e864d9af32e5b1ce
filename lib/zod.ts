/**
 * zod for the modules that load it on first use, by a dynamic import of this module rather than of
 * the package: in the CLI bundle (dist/cli/cli.cjs) every package is `require`d, and a dynamic import
 * of zod itself would load its ES build beside the CommonJS one that the statically imported schemas
 * use (scripts/build-ts.mjs refuses to bundle one).
 */
export { z } from 'zod';
