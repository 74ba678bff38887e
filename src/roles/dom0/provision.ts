import { notYet } from '../../cli/not-yet.js';
export interface ProvisionOptions { pillar: string; out: string; apply: boolean; dryRun: boolean }
export async function runProvision(_o: ProvisionOptions): Promise<number> { return notYet('provision'); }
