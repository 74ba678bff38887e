import { QbuildError } from '../errors.js';

/**
 * Bytes of a pillar volume size, as `qvm-volume extend` reads it (qubesadmin's parse_size in
 * qubesadmin/tools/__init__.py): plain digits are bytes, K/KB M/MB G/GB are powers of 1000,
 * Ki/KiB Mi/MiB Gi/GiB powers of 1024. T/TB/TiB (which the pillar rule also allows) follow
 * the same pattern. The pillar rule (volumeSizeProblem) has already checked the form.
 */
export function volumeSizeBytes(size: string): bigint {
  const m = /^([1-9][0-9]{0,15})(?:([KMGT])(i)?B?)?$/.exec(size);
  if (!m) throw new QbuildError('internal', `volume size not checked: ${size}`);
  const power = m[2] === undefined ? 0 : 'KMGT'.indexOf(m[2]) + 1;
  return BigInt(m[1]!) * (m[3] === 'i' ? 1024n : 1000n) ** BigInt(power);
}
