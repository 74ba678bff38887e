import { notYet } from '../../../cli/not-yet.js';
export async function simUp(_f: string, _o: { foreground: boolean; daemons: boolean }): Promise<number> { return notYet('sim up'); }
export async function simRouter(_f: string): Promise<number> { return notYet('sim router'); }
export async function simDown(_f: string): Promise<number> { return notYet('sim down'); }
export async function simCall(_f: string, _from: string | undefined, _rest: string[]): Promise<number> { return notYet('sim call'); }
