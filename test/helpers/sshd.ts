// Debian's sshd on loopback, the upload host of the demo and the tests.
export { startSshd, type Sshd } from '../../src/demo/sshd-server.js';
