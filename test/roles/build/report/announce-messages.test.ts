import { describe, expect, it } from 'vitest';
import { announceAudience, announcementText, planAnnouncement } from '../../../../src/roles/build/report/announce-messages.js';
import type { AnnounceEvent } from '../../../../src/roles/build/report/events.js';

const prev = 'a'.repeat(40);
const cur = 'b'.repeat(40);
const ev = (dist: string, repository: AnnounceEvent['repository']): AnnounceEvent => ({
  kind: 'announce', component: 'core-admin', version: '4.3.5', release: 'r4.3', dist, repository, issue: 12, previous: prev, commit: cur,
  gitUrl: 'https://github.com/QubesOS/qubes-core-admin',
});
const FOOT = `[Changes included in this update][commits]

[builder-github]: https://github.com/QubesOS/qubes-builder-github
[commits]: https://github.com/QubesOS/qubes-core-admin/compare/${prev}...${cur}
`;

// Upstream's templates/message-* (QubesOS/qubes-builderv2-github), filled in.
describe('announcements on referenced issues (upstream templates/message-*)', () => {
  it('current-testing, vm-fc42: message-current-testing-vm-fedora', () => {
    expect(announcementText(ev('vm-fc42', 'current-testing'))).toBe(`**Automated announcement from [builder-github]**

The component \`core-admin\` (including package \`core-admin\`) has been pushed to the \`r4.3\` testing repository for the Fedora template.
To test this update, please install it with the following command:
\`\`\`
sudo dnf update --enablerepo=qubes-vm-r4.3-current-testing
\`\`\`
${FOOT}`);
  });

  it('current-testing, vm-bookworm: message-current-testing-vm-debian', () => {
    expect(announcementText(ev('vm-bookworm', 'current-testing'))).toBe(`**Automated announcement from [builder-github]**

The package \`core-admin\` has been pushed to the \`r4.3\` testing repository for the Debian template.
To test this update, first enable the testing repository in \`/etc/apt/sources.list.d/qubes-*.list\` by uncommenting the line containing \`bookworm-testing\` (or appropriate equivalent for your template version), then use the standard update command:
\`\`\`
sudo apt-get update && sudo apt-get dist-upgrade
\`\`\`
${FOOT}`);
  });

  it('current-testing, host-fc41: message-current-testing-host', () => {
    expect(announcementText(ev('host-fc41', 'current-testing'))).toBe(`**Automated announcement from [builder-github]**

The component \`core-admin\` (including package \`core-admin\`) has been pushed to the \`r4.3\` testing repository for dom0.
To test this update, please install it with the following command:
\`\`\`
sudo qubes-dom0-update --enablerepo=qubes-dom0-current-testing
\`\`\`
${FOOT}`);
  });

  it('current (upstream "stable"), vm-fc42: message-stable-vm-fedora', () => {
    expect(announcementText(ev('vm-fc42', 'current'))).toBe(`**Automated announcement from [builder-github]**

The component \`core-admin\` (including package \`core-admin\`) has been pushed to the \`r4.3\` stable repository for the Fedora template.
To install this update, please use the standard update command:
\`\`\`
sudo dnf update
\`\`\`
${FOOT}`);
  });

  it('current, vm-bookworm: message-stable-vm-debian', () => {
    expect(announcementText(ev('vm-bookworm', 'current'))).toBe(`**Automated announcement from [builder-github]**

The package \`core-admin\` has been pushed to the \`r4.3\` stable repository for the Debian template.
To install this update, please use the standard update command:
\`\`\`
sudo apt-get update && sudo apt-get dist-upgrade
\`\`\`
${FOOT}`);
  });

  it('current, host-fc41: message-stable-host', () => {
    expect(announcementText(ev('host-fc41', 'current'))).toBe(`**Automated announcement from [builder-github]**

The component \`core-admin\` (including package \`core-admin\`) has been pushed to the \`r4.3\` stable repository for dom0.
To install this update, please use the standard update command:
\`\`\`
sudo qubes-dom0-update
\`\`\`
Or update dom0 via Qubes Manager.

${FOOT}`);
  });

  it('which template: host, Fedora, Debian; none upstream for CentOS Stream, EL or Ubuntu (labels only)', () => {
    expect(['host-fc41', 'vm-fc42', 'vm-bookworm', 'vm-trixie', 'vm-centos-stream9', 'vm-el9', 'vm-noble'].map(announceAudience))
      .toEqual(['host', 'fedora', 'debian', 'debian', undefined, undefined, undefined]);
    const p = planAnnouncement(ev('vm-noble', 'current-testing'));
    expect(p.comment).toBeUndefined();
    expect(p.addLabels).toEqual(['r4.3-noble-cur-test']);
  });

  it('the labels are those of the upload\'s status comment', () => {
    expect(planAnnouncement(ev('vm-fc42', 'current-testing'))).toMatchObject({ addLabels: ['r4.3-fc42-cur-test'], removeLabels: ['r4.3-fc42-failed', 'r4.3-fc42-building'] });
    expect(planAnnouncement(ev('host-fc41', 'current'))).toMatchObject({
      addLabels: ['r4.3-host-stable', 'r4.3-stable'], removeLabels: ['r4.3-host-failed', 'r4.3-host-building', 'r4.3-host-cur-test', 'r4.3-host-sec-test'],
    });
  });
});
