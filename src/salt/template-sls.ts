import type { Plan, PlannedTemplate } from '../protocol/plan/plan.js';
import { DOM0_SALT } from './paths.js';
import { saltYaml } from './yaml-out.js';

/**
 * What the build qube runs, by package name: rpmbuild and rpmsign (recipe rpm, signing),
 * createrepo_c (rpm metadata), dpkg-buildpackage and apt-ftparchive (recipe deb, deb
 * metadata), debsign and dscverify (devscripts), rsync and ssh (upload), git and GnuPG.
 * Fedora splits rpmsign into rpm-sign and apt-ftparchive into apt-utils (Fedora's apt.spec).
 */
export const BUILD_PACKAGES = {
  fedora: ['rpm-build', 'rpm-sign', 'createrepo_c', 'dpkg-dev', 'devscripts', 'apt-utils', 'rsync', 'openssh-clients', 'git', 'gnupg2'],
  debian: ['rpm', 'createrepo-c', 'dpkg-dev', 'devscripts', 'apt-utils', 'rsync', 'openssh-client', 'git', 'gnupg'],
} as const;

/** Debian-based templates (`debian-13`, `debian-13-xfce`, `whonix-…`) get Debian names; all others Fedora's. */
export function buildTemplatePackages(template: string): string[] {
  return [...(/^(debian|whonix)-/.test(template) ? BUILD_PACKAGES.debian : BUILD_PACKAGES.fedora)];
}

/** sls name of a template's states: one per role (`qbuild.templates.build`), as template names may hold `.`. */
export function templateSlsName(t: PlannedTemplate): string {
  return `${DOM0_SALT.name}.templates.${t.role}`;
}

/** A template's states: its packages, installed by the template's own package manager. */
export function renderTemplateSls(t: PlannedTemplate): string {
  return saltYaml({ [`qbuild-${t.role}-packages`]: { 'pkg.installed': [{ pkgs: t.packages }] } },
    `qbuild: template ${t.name} (packages for ${t.role} qubes)`);
}

export function planTemplates(plan: Plan): PlannedTemplate[] {
  return plan.templates ?? [];
}
