/**
 * zod for the modules that load it on first use (`import('../zod.js')`) instead of with themselves.
 * Through this module rather than `import('zod')`: in the CLI bundle (dist/cli/cli.cjs) every package
 * is `require`d, and a literal `import('zod')` would load zod's ES build beside the CommonJS one that
 * the statically imported schemas use (scripts/build-ts.mjs refuses to bundle one).
 */
export { z } from 'zod';
