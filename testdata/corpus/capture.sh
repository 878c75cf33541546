#!/usr/bin/env bash
# Re-capture the corpus: start each real server (installed from Debian's
# packages and npm; .ci/install.d/20-servers.sh installs them) with its
# config in testdata/corpus/conf on loopback ports and a temp dir of its
# own, send the requests of integration/corpus_cases_test.go, and write
# each raw response to testdata/corpus/responses/ and the list of them to
# testdata/corpus/manifest.json. A missing server fails the capture.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=$PWD/testdata/corpus
if [ ! -d "$here/node/node_modules" ]; then
	(cd "$here/node" && npm ci --no-audit --no-fund)
fi
CI=${CI:-capture} CORPUS_CAPTURE="$here" go test -count=1 -run '^TestCorpusCapture$' -v ./integration
CORPUS_README_UPDATE=1 go test -count=1 -run '^TestCorpusREADME$' ./explain
