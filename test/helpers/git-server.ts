// The loopback smart-HTTP git server (the real git http-backend) the demo also uses as GitHub.
export { GIT_HTTP_BACKEND, startGitServer, type GitServer } from '../../src/demo/git-http-server.js';
