"""`eventyard test-policy [--policy PATH] [TESTS...]`: run the policy's unit tests.

Exit 0 when every case passes; 1 on any failing case, malformed or missing test file, or
a policy that does not load. The case format is documented in eventyard.policy.testing.
"""

from __future__ import annotations

import argparse
import sys

from eventyard.errors import PolicyError
from eventyard.policy import load_policy
from eventyard.policy.testing import CaseResult, SuiteResult, discover, run_suite

DEFAULT_POLICY = "config/routing.yaml"
DEFAULT_TESTS = "config/tests"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", default=DEFAULT_POLICY, help=f"default: {DEFAULT_POLICY}")
    parser.add_argument(
        "tests", nargs="*", metavar="TESTS",
        help=f"test files or directories of *.yaml (default: {DEFAULT_TESTS}/*.yaml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")


def _print_failure(result: CaseResult) -> None:
    case = result.case
    print(f"FAIL {case.where}: {case.name}")
    print(f"  expected: {result.expected}")
    print(f"  actual:   {result.actual}")
    for failure in result.failures:
        print(f"  - {failure}")


def report(suite: SuiteResult, verbose: bool = False) -> None:
    for problem in suite.problems:
        print(problem.render(), file=sys.stderr)
    for result in suite.results:
        if not result.passed:
            _print_failure(result)
        elif verbose:
            print(f"ok   {result.case.where}: {result.case.name}")
    summary = f"{suite.passed} passed, {suite.failed} failed"
    if suite.problems:
        files = len({p.file for p in suite.problems})
        summary += f", {files} test file(s) with problems"
    print(summary)


def run(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.policy)
    except PolicyError as exc:
        print(exc, file=sys.stderr)  # one FILE:LINE: PATH: message line per problem
        print(f"{args.policy}: the policy does not load; no tests run", file=sys.stderr)
        return 1
    files = discover(args.tests or [DEFAULT_TESTS])
    if not files:
        # An empty suite passing would hide a wrong path in CI.
        print(f"no test files found in {' '.join(args.tests or [DEFAULT_TESTS])}",
              file=sys.stderr)
        return 1
    suite = run_suite(policy, files)
    report(suite, args.verbose)
    return 0 if suite.ok else 1
