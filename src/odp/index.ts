// The ODP flow text format: keys, masks and actions as ovs-dpctl prints and
// reads them.
export { OdpParseError, OdpKeyError } from './errors.js';
export { parseOdpFlow, MAX_ODP_NESTED, type ParsedFlow, type ParseFlowOptions } from './parse-key.js';
export { formatOdpFlow, formatOdpKey, type FormatOptions } from './format-key.js';
export { parseOdpActions, type ParseActionsOptions } from './parse-actions.js';
export { formatOdpActions, formatOdpAction, type FormatActionsOptions } from './format-actions.js';
export { canonicalKey, type CanonicalKey, type CanonicalOptions, type KeyFitness } from './canonical.js';
export { DumpFormatter } from './dump-format.js';
export { formatFlowDump, parseFlowDump, formatTcpFlagLetters, type FlowDumpEntry, type FormatDumpOptions, type ParsedDumpLine } from './flow-line.js';
export { decodeCookie, encodeCookie, type UserActionCookie } from './cookie.js';
export { CT_STATE_NAMES, TCP_FLAG_NAMES, TUN_FLAG_NAMES, SLOW_PATH_NAMES, formatFlags, formatFlagsMasked } from './flags.js';
