# SPDX-License-Identifier: MIT
# A thin front end to CMake giving the README's commands. Honours PREFIX,
# DESTDIR and BUILD; everything else is CMake's.
BUILD  ?= build
PREFIX ?= /usr/local
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
CONF    = cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX)

.PHONY: all examples tests install uninstall bench clean

all:
	$(CONF) && cmake --build $(BUILD) -j $(JOBS)

examples:
	$(CONF) -DASYNC_BUILD_EXAMPLES=ON && cmake --build $(BUILD) -j $(JOBS)

# ctest lists skipped tests without a reason: SkipReasons.cmake prints each
# one's, from ctest's log, whether the run passed or not.
tests:
	$(CONF) -DASYNC_BUILD_EXAMPLES=ON -DASYNC_BUILD_TESTS=ON && cmake --build $(BUILD) -j $(JOBS) \
	  && { ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS); rc=$$?; \
	       cmake -DLOG=$(BUILD)/Testing/Temporary/LastTest.log -P cmake/SkipReasons.cmake; exit $$rc; }

bench:
	$(CONF) -DASYNC_BUILD_BENCHMARKS=ON && cmake --build $(BUILD) -j $(JOBS)

install: all
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

uninstall:
	@test -f $(BUILD)/install_manifest.txt || { echo "nothing installed from $(BUILD)"; exit 1; }
	xargs -d '\n' rm -f < $(BUILD)/install_manifest.txt
	@# then the directories that are async's own (include/async, lib/cmake/async), once empty
	sed -n 's:/[^/]*$$::p' $(BUILD)/install_manifest.txt | sort -u | { grep '/async$$' || true; } \
	  | xargs -r -d '\n' rmdir --ignore-fail-on-non-empty
	rm -f $(BUILD)/install_manifest.txt

clean:
	rm -rf $(BUILD)
