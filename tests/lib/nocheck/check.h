/*
 * check.h - stands in for Check's header when configure did not find Check
 * (the unit-test framework): the programs build without it, `make check`
 * stops here with what to do.
 */
#error "Check (the unit-test framework) was not found when configure ran, and make check needs it: apt-get install check (Debian), then run configure again."
