export { ConfigError, loadConfig } from './config';
export type { Config, OidcConfig } from './config';
export { configWarnings } from './warnings';
export type { Env } from './settings';
