import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A template recipe for the tests, as an env's pillar `templates:NAME:command` runs it: it
 * builds a tiny real noarch RPM with rpmbuild, `qubes-template-$TEMPLATE-4.3.0-$TIMESTAMP`
 * (upstream's template package shape), and leaves VERSION. `rpmName` renames the file it
 * leaves (a misnamed template); `noRpm` leaves only VERSION. Written as a script into `dir`;
 * returns its argv.
 */
export function templateRecipe(dir: string, opts: { rpmName?: string; noRpm?: boolean } = {}): string[] {
  const script = join(dir, `template-recipe-${opts.noRpm ? 'none' : opts.rpmName ? 'misnamed' : 'ok'}.sh`);
  const rename = opts.rpmName ? `mv "$OUTPUT_DIR"/*.rpm "$OUTPUT_DIR/${opts.rpmName}"\n` : '';
  writeFileSync(script, `set -eu
top="$TMPDIR/rpmbuild"
mkdir -p "$top/SPECS"
echo 4.3.0 > "$OUTPUT_DIR/VERSION"
${opts.noRpm ? 'exit 0\n' : ''}cat > "$top/SPECS/template.spec" <<SPEC
Name: qubes-template-$TEMPLATE
Version: 4.3.0
Release: $TIMESTAMP
Summary: Qubes template $TEMPLATE (qbuild test stand-in)
License: GPL-2.0-or-later
BuildArch: noarch
AutoReqProv: no
%description
A stand-in template for the tests.
%install
mkdir -p %{buildroot}/var/lib/qubes/vm-templates/$TEMPLATE
echo "template $TEMPLATE $RELEASE $TIMESTAMP" > %{buildroot}/var/lib/qubes/vm-templates/$TEMPLATE/root.img
%files
/var/lib/qubes/vm-templates/$TEMPLATE
SPEC
rpmbuild -bb --quiet --define "_topdir $top" --define "_rpmdir $OUTPUT_DIR" --define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' "$top/SPECS/template.spec"
${rename}`, { mode: 0o755 });
  return ['sh', script];
}
