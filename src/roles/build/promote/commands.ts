/**
 * The promotion commands as PROMOTE runs them: structurally the matching members of COMMANDS'
 * `Command` (src/protocol/github/command/grammar.ts), parsed and checked there before they
 * reach these functions.
 */
export interface UploadComponentCommand {
  kind: 'upload-component';
  release: string;
  component: string;
  commit: string;
  repository: 'current' | 'security-testing';
  dists: 'all' | string[];
}

export interface BuildTemplateCommand { kind: 'build-template'; release: string; template: string; timestamp: string }

export interface UploadTemplateCommand {
  kind: 'upload-template';
  release: string;
  template: string;
  version: string;
  timestamp: string;
  repository: 'templates-itl' | 'templates-community';
}

export interface BuildIsoCommand { kind: 'build-iso'; release: string; version: string; timestamp: string }
