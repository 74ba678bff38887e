/**
 * The qrexec policy engine, pure part: parse and evaluate. Loading a policy.d directory
 * (file I/O) lives in ./load.ts (`loadPolicyDir`) and is deliberately not re-exported here.
 */
export { parsePolicyText, policyFromFiles, type Policy, type Rule, type Action, type ServicePattern, type ArgumentPattern } from './parser.js';
export { evaluate, answerAsk, type Decision, type Request, type SystemInfo, type VmInfo } from './evaluate.js';
export { formatToken, type Token, type SourceToken, type TargetToken, type RedirectToken } from './tokens.js';
