export { AriSwitch, type AriSwitchOptions, toChannel, toBridge } from './switch';
export {
  AriConnection,
  AriConnectError,
  type AriConnectionOptions,
  type AriConnectionEvents,
  type AriConnectFailure,
  type AriConnectFailureKind,
  type AriRawEvent,
} from './connection';
export { AriRest, SwitchTimeoutError } from './rest';
export { Backoff, type BackoffOptions } from './backoff';
