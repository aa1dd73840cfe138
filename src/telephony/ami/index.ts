export { AmiClient, type AmiClientOptions, type AmiClientEvents, type AmiLoginFailure, type OriginateOptions } from './client';
export {
  AmiActionError,
  AmiTimeoutError,
  AmiDisconnectedError,
  normalize as normalizeAmiMessage,
  type AmiMessage,
  type AmiHeaders,
  type AmiListResult,
} from './actions';
