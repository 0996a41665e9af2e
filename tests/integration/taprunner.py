"""taprunner.py - runs unittest tests and reports them as TAP, so that
automake's tap-driver.sh counts each test case: `ok N - Class.test`,
`not ok N - Class.test` followed by the traceback as `# ` lines, a skip as
`ok N - Class.test # SKIP reason`, an expected failure (see todo()) as
`not ok N - Class.test # TODO reason` (automake: XFAIL; if it passes, the
`ok ... # TODO` is an XPASS, which fails the run until the mark is
removed), and the plan `1..N` at the end.

Each test file ends with:

    if __name__ == '__main__':
        taprunner.main()

A test case may define tap_diagnostics(self) returning text to print
after its failure (the harness's StackTestCase prints server logs).
"""

import sys
import traceback
import unittest


def todo(reason):
    """Decorator: the test is expected to fail for REASON (a feature not
    built yet).  Reported as TAP TODO; passing makes the run fail, so the
    mark is removed when the feature lands."""
    def mark(func):
        func = unittest.expectedFailure(func)
        func.__tap_todo__ = reason
        return func
    return mark


def _lines(stream, text):
    for line in str(text).rstrip('\n').splitlines():
        stream.write(('# ' + line).rstrip() + '\n')


class TAPResult(unittest.TestResult):
    """A TestResult that writes one TAP line per test as it finishes."""

    def __init__(self, stream, descriptions=None, verbosity=1):
        super().__init__(stream, descriptions, verbosity)
        self.stream = stream
        self.count = 0
        self._line_written = False
        self._subtest_failures = []

    @staticmethod
    def _name(test):
        if isinstance(test, unittest.TestCase):
            name = '%s.%s' % (type(test).__name__, test._testMethodName)
        else:  # a setUpClass/tearDownClass or module fixture error
            name = str(test)
        return name.replace('#', '\\#')

    def _emit(self, ok, test, directive='', details=None):
        self.count += 1
        self._line_written = True
        line = '%s %d - %s' % ('ok' if ok else 'not ok', self.count, self._name(test))
        if directive:
            line += ' # ' + directive
        self.stream.write(line + '\n')
        for text in self._subtest_failures:
            _lines(self.stream, text)
        self._subtest_failures = []
        if details:
            _lines(self.stream, details)
        if not ok and directive == '':
            hook = getattr(test, 'tap_diagnostics', None)
            if callable(hook):
                try:
                    _lines(self.stream, hook())
                except Exception:
                    _lines(self.stream, 'tap_diagnostics failed:\n' + traceback.format_exc())
        self.stream.flush()

    def startTest(self, test):
        super().startTest(test)
        self._line_written = False
        self._subtest_failures = []

    def stopTest(self, test):
        # A test whose subtests failed gets no addFailure of its own.
        if not self._line_written:
            self._emit(not self._subtest_failures, test)
        super().stopTest(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        if not self._subtest_failures:
            self._emit(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._emit(False, test, details=self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._emit(False, test, details=self._exc_info_to_string(err, test))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._subtest_failures.append('%s:\n%s' % (subtest._subDescription(),
                                                       self._exc_info_to_string(err, test)))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._emit(True, test, 'SKIP ' + ' '.join(str(reason).split()))

    def _todo(self, test):
        method = getattr(test, getattr(test, '_testMethodName', ''), None)
        return getattr(method, '__tap_todo__', 'expected to fail')

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._emit(False, test, 'TODO ' + self._todo(test), self._exc_info_to_string(err, test))

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._emit(True, test, 'TODO ' + self._todo(test),
                   'passed although marked todo(): remove the mark')


class TAPTestRunner:
    """A unittest.TextTestRunner replacement that writes TAP to STREAM
    (stdout).  Accepts and ignores TextTestRunner's other arguments so
    that unittest.main(testRunner=TAPTestRunner) works."""

    def __init__(self, stream=None, **_ignored):
        self.stream = stream or sys.stdout

    def run(self, test):
        result = TAPResult(self.stream)
        unittest.registerResult(result)
        result.startTestRun()
        try:
            test(result)
        finally:
            result.stopTestRun()
        self.stream.write('1..%d\n' % result.count)
        self.stream.flush()
        return result


def main(module='__main__'):
    """unittest.main with the TAP runner; exits 0 when every test passed
    (skips and TODO failures included), 1 otherwise."""
    unittest.main(module=module, testRunner=TAPTestRunner)
