import { connect } from 'node:net';
import { QbuildError } from '../../errors.js';
import type { ServiceHandler } from '../service.js';
import { loadSysnetConfig } from './config.js';

/**
 * `local.ConnectSSH+HOST` (build VM → sys-net): relays the caller's stream to HOST's SSH port.
 * Rules: HOST is required and must be listed exactly in the config's `sshHosts` (qrexec policy
 * allows `+HOST` per host as well: this is the second lock); the port is `sshPort` (22), never
 * chosen by the caller. Bytes are relayed unchanged both ways; each direction is half-closed
 * when its source ends, and the service exits once both directions are done.
 */
export const handleConnectSSH: ServiceHandler = async (ctx, io) => {
  const host = ctx.argument;
  if (host === undefined) throw new QbuildError('refused', 'ConnectSSH needs the host as its argument');
  const config = loadSysnetConfig(io.env);
  if (!config.sshHosts.includes(host)) throw new QbuildError('refused', `host ${host} is not on the ssh allowlist`);
  const socket = connect({ host, port: config.sshPort });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', (e) => reject(new QbuildError('io', `cannot connect to ${host}:${config.sshPort}: ${e.message}`)));
  });
  return new Promise<number>((resolve) => {
    let upDone = false;
    let downDone = false;
    let failed = false;
    const finish = (): void => { if (upDone && downDone) resolve(failed ? 1 : 0); };
    // caller → host; the caller's EOF becomes a TCP FIN (half-close), the reply may still come.
    io.stdin.pipe(socket, { end: true });
    io.stdin.once('end', () => { upDone = true; finish(); });
    // host → caller; the host's FIN ends our stdout.
    socket.on('data', (b: Buffer) => { if (!io.stdout.write(b)) { socket.pause(); io.stdout.once('drain', () => socket.resume()); } });
    socket.once('end', () => { io.stdout.end(() => { downDone = true; if (!upDone) { upDone = true; io.stdin.destroy(); } finish(); }); });
    socket.once('error', (e) => {
      io.stderr.write(`qbuild: local.ConnectSSH: ${host}: ${e.message}\n`);
      failed = true;
      upDone = true;
      io.stdin.destroy();
      io.stdout.end(() => { downDone = true; finish(); });
    });
  });
};
