# packaging: filled in by the distribution issue (units, rules, Debian/RPM packaging).
