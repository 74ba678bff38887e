/** A tiny but real RPM package for the demo, built by rpmbuild in the build qube. */
export const DEMO_SPEC = `Name:           qbuild-demo
Version:        1.0
Release:        1
Summary:        A package built, logged and signed by the qbuild demo
License:        GPL-2.0-or-later
BuildArch:      noarch

%description
Built inside the simulated build qube; its build log is stored, committed and signed by the
logs qube, which then hands the keys qube a ticket naming this package's header digest.

%install
mkdir -p %{buildroot}/usr/share/qbuild-demo
echo "hello from the qbuild demo" > %{buildroot}/usr/share/qbuild-demo/README

%files
/usr/share/qbuild-demo/README
`;
