export { ConfigError, loadConfig } from './config';
export type { Config, OidcConfig } from './config';
export { MODEL_PATTERN } from './fields';
export { configWarnings } from './warnings';
export type { Env } from './settings';
