# SPDX-License-Identifier: GPL-2.0
#
# tlsnic: top-level build. See README.md.
#
#   make deps    install the Debian packages the project needs (root)
#   make         build the module, devsim and the tools
#   make check   deps + build + every test; ends with "N passed, N failed"
#   make demo    boot the VM once: offload vs software vs plain TCP, short A/B
#   make fuzz    run each devsim fuzz target for FUZZ_SECONDS (default 600)
#   make bench   measure the offload; results under build/bench/<time>/
#                (or $BENCH_DIR): docs/benchmarks.md
#   make soak    100 offloaded connections over a wire with 1% of every
#                fault, SOAK_SIZE (default 2G) payload; results under
#                build/soak/<time>/ (or $SOAK_DIR): docs/reliability.md

SUBDIRS := driver devsim tools

.PHONY: all deps check demo fuzz bench soak clean $(SUBDIRS)

all: $(SUBDIRS)

$(SUBDIRS):
	$(MAKE) -C $@

deps:
	tools/install-deps

# deps first, then a fresh make so the sub-makes see what deps installed.
check: deps
	$(MAKE) all
	tools/run-tests

demo: deps
	$(MAKE) all
	tools/tlsnic-demo

fuzz: deps
	$(MAKE) -C selftests/fuzz fuzz

bench: deps
	$(MAKE) all
	tools/bench/tlsnic-bench

SOAK_SIZE ?= 2G
soak: deps
	$(MAKE) all
	tools/soak/tlsnic-soak $(SOAK_SIZE)

clean:
	for d in $(SUBDIRS) selftests/fuzz; do $(MAKE) -C $$d clean; done
