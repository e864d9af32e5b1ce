/**
 * Configuration: one zod schema (schema.ts), layers merged and validated once (resolve.ts), and
 * the file / environment / flag sources (load.ts). See docs/readme/cli.md "Configuration".
 */
export {
  ClawConfigSchema,
  OAuthConfigSchema,
  ClientCredentialsConfigSchema,
  ConfigFileSchema,
  LOG_LEVELS,
  SECRET_PATHS,
  type ClawConfig,
  type ClawConfigInput,
  type LogLevel,
} from './schema.js';
export {
  resolveConfig,
  displayConfig,
  flatten,
  setPath,
  coerceValue,
  isSecretPath,
  CONFIG_KEYS,
  type ConfigLayer,
  type ResolvedConfig,
} from './resolve.js';
export {
  loadConfig,
  readConfigFile,
  writeConfigValue,
  configFilePath,
  envLayer,
  ENV_VARS,
  CONFIG_PATH_ENV,
  PROFILE_ENV,
  type Env,
  type ConfigFile,
  type LoadConfigOptions,
  type LoadedConfig,
} from './load.js';
