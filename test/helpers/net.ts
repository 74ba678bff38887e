// Loopback listeners for tests: the same helpers the dev-box driver (qbuild demo) uses.
export { freePort, listenLoopback } from '../../src/util/loopback.js';
