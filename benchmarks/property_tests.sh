#!/usr/bin/env bash
# The parser property tests (tests/LlmTrainer.Tests/Robustness) with many more damaged files than the test run uses:
# every parser that reads user files must return a result or llmtrain's own error naming the file, never crash and
# never allocate without bound. Usage: benchmarks/property_tests.sh [CASES]   (default 10000 per property)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PROPERTY_TEST_CASES=${1:-10000}
echo "property tests with $PROPERTY_TEST_CASES cases per property"
dotnet test tests/LlmTrainer.Tests -c Release --nologo --filter "FullyQualifiedName~Robustness" 2>&1 | grep -E "Passed!|Failed!|\[FAIL\]|Error Message" -A3
