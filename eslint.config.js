// ESLint (flat config). Its main job is to keep the layering of shared/design.md true by tool rather
// than by memory: a lower layer never imports an upper one. The layers of lib/, lowest first:
//
//   0  errors.ts, version.ts, log/, fsx/       foundations: know nothing of any concern
//   1  http/          native.ts                the one HTTP transport; the addon loader and facade
//   2  byterover/                              the ByteRover API over http/
//   3  memory/        clawapi/                 the local context tree (the one user of the native index);
//                                              the claw-api client
//   4  agent/  bridge/  openclaw/              the faces: agent link, companion service, OpenClaw plugin
//   5  telemetry/                              observes the faces: may import their event TYPES only
//   6  config/                                 the one validated schema, assembled from each concern's
//                                              config module (its */config.ts leaf) only
//   7  doctor/                                 diagnoses every layer
//   8  cli/                                    the commands, thin over everything above
//      index.ts                                the package's public face: may import anything but cli/
//
// `native.ts` is reached only through memory/ and the faces that need the addon itself (agent/ for
// the protocol negotiation, doctor/ for the diagnosis, the public index.ts). Faces on one level do
// not import each other (openclaw/ knows nothing of bridge/ or agent/).
//
// Each block below names, for the files of one layer, the modules they must not import. The rule is
// @typescript-eslint/no-restricted-imports so that a block can allow type-only imports where a layer
// may know a shape but not the code (telemetry/).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * A pattern forbidding imports of the named lib/ folders ('http') or top-level modules ('native.js').
 * Imports in this tree are relative: a file in a lib/ folder reaches another folder by '../' (once per
 * level), a top-level file (lib/index.ts) by './'. No subfolder shares a name with a top-level folder,
 * so a specifier that climbs and then names the folder is exactly an import of it.
 */
function forbid(names, why, options = {}) {
  const alternatives = names.map((name) =>
    name.endsWith('.js') ? name.replace('.', String.raw`\.`) + '$' : `${name}/`,
  );
  return { regex: String.raw`^(?:\./|(?:\.\./)+)(?:${alternatives.join('|')})`, message: why, ...options };
}

/** Everything above http/ and native.ts. */
const ABOVE_TRANSPORT = [
  'byterover',
  'memory',
  'clawapi',
  'agent',
  'bridge',
  'openclaw',
  'telemetry',
  'config',
  'doctor',
  'cli',
];

/** Files of `files` must not import the modules of `names`. */
function layer(files, ...patterns) {
  return {
    files,
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
  };
}

const FACES = ['agent', 'bridge', 'openclaw'];
const ABOVE_FACES = ['telemetry', 'config', 'doctor', 'cli'];
const BELOW = 'a lower layer never imports an upper one (shared/design.md, eslint.config.js)';
const NATIVE =
  'native.ts is reached only through memory/ and the faces that need the addon (agent/, doctor/, index.ts)';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'build/',
      'build-cmake/',
      'prebuilds/',
      'coverage/',
      'native/',
      'docs/media/',
      'test/fixtures/',
      '.cache/',
      '.brv/',
    ],
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2023, sourceType: 'module' },
    plugins: { '@typescript-eslint': tseslint.plugin },
  },
  // Correctness: the recommended sets of ESLint and typescript-eslint (syntax only, no type
  // information: the type checker is `npm run typecheck`), with these departures:
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // TypeScript's own checker resolves names (and knows Node's globals from @types/node).
      'no-undef': 'off',
      // The code matches control characters on purpose: header and path validation, log redaction,
      // stripping terminal escapes from a captured output.
      'no-control-regex': 'off',
      // Not enforced: `any` appears in test doubles and in a few untyped JSON reports; tsc --strict
      // still checks everything that is not explicitly `any`.
      '@typescript-eslint/no-explicit-any': 'off',
      // A binding read by a closure before its one assignment (a callback that reports the value
      // the request later names) cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // A leading underscore marks a deliberately unused binding (an omitted rest sibling, a
      // positional parameter an interface requires).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  // 0: foundations.
  layer(
    ['lib/errors.ts', 'lib/version.ts', 'lib/log/**/*.ts'],
    forbid(['http', 'native.js', ...ABOVE_TRANSPORT], BELOW),
  ),
  // fsx/ (the one durable-file module) is a foundation too: every layer may use it.
  layer(['lib/fsx/**/*.ts'], forbid(['http', 'native.js', ...ABOVE_TRANSPORT], BELOW)),
  // 1: http/ and the addon loader.
  layer(['lib/http/**/*.ts'], forbid(['native.js', ...ABOVE_TRANSPORT], BELOW)),
  layer(['lib/native.ts'], forbid(['http', 'log', ...ABOVE_TRANSPORT], BELOW)),
  // 2: the ByteRover API.
  layer(
    ['lib/byterover/**/*.ts'],
    forbid(['memory', 'clawapi', ...FACES, ...ABOVE_FACES], BELOW),
    forbid(['native.js'], NATIVE),
  ),
  // 3: memory/ (may use the addon) and clawapi/ (may not).
  layer(['lib/memory/**/*.ts'], forbid(['clawapi', ...FACES, ...ABOVE_FACES], BELOW)),
  layer(['lib/clawapi/**/*.ts'], forbid(['memory', ...FACES, ...ABOVE_FACES], BELOW), forbid(['native.js'], NATIVE)),
  // 4: the faces.
  layer(['lib/agent/**/*.ts'], forbid(['bridge', 'openclaw', ...ABOVE_FACES], BELOW)),
  layer(['lib/bridge/**/*.ts'], forbid(['agent', 'openclaw', ...ABOVE_FACES], BELOW), forbid(['native.js'], NATIVE)),
  layer(
    ['lib/openclaw/**/*.ts'],
    forbid(['agent', 'bridge', 'clawapi', 'telemetry', 'doctor', 'cli'], BELOW),
    forbid(['native.js'], NATIVE),
    // The plugin reads the one validated schema (config/), which is assembled from the concerns'
    // config leaves; it may import config/ but nothing config/ itself may not.
  ),
  // 5: telemetry observes the faces: their event types, never their code.
  layer(
    ['lib/telemetry/**/*.ts'],
    forbid(['agent', 'bridge', 'byterover', 'memory'], `${BELOW}; telemetry/ may import their types only`, {
      allowTypeImports: true,
    }),
    forbid(['openclaw', 'clawapi', 'config', 'doctor', 'cli'], BELOW),
    forbid(['native.js'], NATIVE),
  ),
  // 6: config/ assembles each concern's config leaf (*/config.js), nothing else of it.
  {
    files: ['lib/config/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: String.raw`^\.\./(?:http|byterover|memory|clawapi|agent|bridge|openclaw|telemetry)/(?!config\.js$)`,
              message: `config/ may import only a concern's config leaf (../<concern>/config.js): ${BELOW}`,
            },
            forbid(['doctor', 'cli'], BELOW),
            forbid(['native.js'], NATIVE),
          ],
        },
      ],
    },
  },
  // 7: doctor/ diagnoses everything below the commands.
  layer(['lib/doctor/**/*.ts'], forbid(['cli'], BELOW)),
  // 8: cli/ reaches the addon through memory/ and doctor/.
  layer(['lib/cli/**/*.ts'], forbid(['native.js'], NATIVE)),
  // The public face.
  layer(['lib/index.ts'], forbid(['cli'], 'the public face (lib/index.ts) does not export the CLI')),
);
