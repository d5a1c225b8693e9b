# TinyKV-C: the one entry point.
#
#   make                build every library, binary and test suite into build/
#   make test           lint + every suite (frame and graded), with a scorecard
#   make project1       one graded suite (likewise project2a ... project4c, frame)
#   make demo           start a standalone server and talk to it with tinykv-ctl
#   make handout        the student tree in build/handout (FROM=project2a keeps earlier stages)
#   make handout-check  build that tree and prove its graded tests fail and frame tests pass
#   make SANITIZE=1 ... the same, built with AddressSanitizer + UBSan into build/san
#
# Sources are found by folder, so adding a .c file needs no edit here:
#   library code   common/ project1-standalone/ project2-raft/{raft,raftstore}/
#                  project3-multiraft/ (and scheduler/) project4-txn/ (and one level below)
#   test binaries  tests/<dir>/*.c, linked with tests/harness/*.c, one binary per <dir>
#   programs       cmd/<name>.c and tools/<name>.c, one binary each

SHELL := /bin/bash
CC ?= cc
# V=1 shows full compiler lines.
ifeq ($(V),1)
Q :=
else
Q := @
endif
B := build
ifeq ($(SANITIZE),1)
O := $(B)/san
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# Sanitized code runs a few times slower: give each test more time.
GRADE_FLAGS := --timeout-scale 4
else
O := $(B)
SAN :=
endif

# Generated protobuf code is not ours: it is built without -Werror so a newer
# protoc-c cannot break the build; everything we write gets the strict set.
BASE_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 $(SAN) \
               -I. -I$(O)/gen -MMD -MP
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-missing-field-initializers
CFLAGS_ALL := $(BASE_CFLAGS) $(WARN) $(CFLAGS)
LDLIBS := -lleveldb -lprotobuf-c -luv -lcmocka -lpthread -lm
LDFLAGS_ALL := $(SAN) $(LDFLAGS)

PROTOS   := $(wildcard common/proto/*.proto)
PB_C     := $(patsubst common/proto/%.proto,$(O)/gen/proto/%.pb-c.c,$(PROTOS))
PB_H     := $(PB_C:.c=.h)
PB_O     := $(patsubst $(O)/gen/%.c,$(O)/obj/gen/%.o,$(PB_C))

LIB_DIRS := common project1-standalone project2-raft/raft project2-raft/raftstore \
            project3-multiraft project3-multiraft/scheduler project4-txn \
            $(wildcard project4-txn/*/)
LIB_SRCS := $(sort $(foreach d,$(LIB_DIRS),$(wildcard $(d:/=)/*.c)))
LIB_O    := $(patsubst %.c,$(O)/obj/%.o,$(LIB_SRCS))
LIB      := $(O)/libtinykv.a

HARNESS_O := $(patsubst %.c,$(O)/obj/%.o,$(wildcard tests/harness/*.c))
TEST_DIRS := $(filter-out harness,$(notdir $(patsubst %/,%,$(wildcard tests/*/))))
TEST_BINS := $(addprefix $(O)/tests/,$(TEST_DIRS))

CMD_BINS  := $(patsubst cmd/%.c,$(O)/bin/%,$(wildcard cmd/*.c))
TOOL_BINS := $(patsubst tools/%.c,$(O)/bin/%,$(wildcard tools/*.c))

GRADER  := $(O)/bin/grade
# JOBS=n: how many tests the grader runs at once (default: one per core).
GRADE_FLAGS += $(if $(JOBS),--jobs $(JOBS))
HANDOUT := $(O)/bin/handout

SUITES := frame project1 project2a project2b project2c project3a project3b project3c \
          project4a project4b project4c

# Keep generated and intermediate files (objects, protobuf code) between runs.
.SECONDARY:
.PHONY: all deps build test grade lint format demo handout handout-check clean $(SUITES)
.DEFAULT_GOAL := all

all: build

build: $(LIB) $(TEST_BINS) $(CMD_BINS) $(TOOL_BINS)

deps:
	@tools/deps.sh

# ---- generated protobuf code ------------------------------------------------
# Everything starts from generated code, so `deps` (order-only: it never
# forces a rebuild) runs before the first compile.
$(O)/gen/proto/%.pb-c.c $(O)/gen/proto/%.pb-c.h: common/proto/%.proto | deps
	@mkdir -p $(O)/gen
	@echo "  PROTO $<"
	$(Q)protoc-c --c_out=$(O)/gen -Icommon $<

$(O)/obj/gen/%.o: $(O)/gen/%.c | $(PB_H)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(BASE_CFLAGS) -c $< -o $@

# ---- our own code -------------------------------------------------------------
$(O)/obj/%.o: %.c | $(PB_H)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB): $(LIB_O) $(PB_O)
	@rm -f $@
	@echo "  AR    $@"
	$(Q)ar rcs $@ $^

# One test binary per folder under tests/: its own files, the harness, the library.
define test_bin
$(O)/tests/$(1): $(patsubst %.c,$(O)/obj/%.o,$(wildcard tests/$(1)/*.c)) $(HARNESS_O) $(LIB)
	@mkdir -p $$(dir $$@)
	@echo "  LD    $$@"
	$(Q)$$(CC) $$(LDFLAGS_ALL) $$^ $$(LDLIBS) -o $$@
endef
$(foreach t,$(TEST_DIRS),$(eval $(call test_bin,$(t))))

$(O)/bin/%: $(O)/obj/cmd/%.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(CC) $(LDFLAGS_ALL) $^ $(LDLIBS) -o $@

$(O)/bin/%: $(O)/obj/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(CC) $(LDFLAGS_ALL) $^ $(LDLIBS) -o $@

# ---- grading --------------------------------------------------------------------
# `make test` is what CI and instructors run: formatting and static checks, then
# every suite. The grader exits non-zero when any test fails.
test: build
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory grade

grade: build
	@$(GRADER) $(GRADE_FLAGS) --out $(B)/grade $(if $(TEST),--test $(TEST)) $(TEST_BINS)

$(SUITES): build
	@$(GRADER) $(GRADE_FLAGS) --out $(B)/grade --suite $@ $(if $(TEST),--test $(TEST)) $(TEST_BINS)

# ---- style ------------------------------------------------------------------------
SRC_ALL := $(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')

lint:
	@echo "lint: clang-format ($(words $(SRC_ALL)) files)"
	@clang-format --dry-run --Werror $(SRC_ALL)
	@echo "lint: cppcheck"
	@cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
	    --inline-suppr --suppress=missingIncludeSystem -I. $(SRC_ALL)
	@echo "lint: ok"

format:
	clang-format -i $(SRC_ALL)

# ---- demo and handout ---------------------------------------------------------
demo: build
	@tools/demo.sh $(O)/bin

handout: build
	@$(HANDOUT) $(if $(FROM),--from $(FROM)) . $(B)/handout

handout-check: handout
	@tools/handout-check.sh $(B)/handout $(FROM)

clean:
	rm -rf $(B)

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)

# ---- fuzzing: make fuzz ---------------------------------------------------------
# Longer runs than `make test` gives them: the structured fuzzers of tests/fuzz
# (FUZZ_STEPS deliveries, FUZZ_SEEDS seeds each), then every libFuzzer target
# of tools/fuzz/ for FUZZ_SECONDS each, built with clang into build/fuzz with
# -fsanitize=fuzzer,address,undefined (tools/fuzz-deps.sh installs or names
# what is missing). A target's corpus is kept in build/fuzz/corpus/<name>.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_STEPS   ?= 100000
FUZZ_SEEDS   ?= 4
FUZZ_O       := $(B)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 -I. -I$(O)/gen \
                $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP
FUZZ_LIB_O   := $(patsubst %.c,$(FUZZ_O)/obj/%.o,$(LIB_SRCS)) \
                $(patsubst $(O)/gen/%.c,$(FUZZ_O)/obj/gen/%.o,$(PB_C))
FUZZ_BINS    := $(patsubst tools/fuzz/%.c,$(FUZZ_O)/bin/%,$(wildcard tools/fuzz/*.c))

.PHONY: fuzz fuzz-deps fuzz-build

fuzz-deps:
	@FUZZ_CC=$(FUZZ_CC) tools/fuzz-deps.sh

$(FUZZ_O)/obj/gen/%.o: $(O)/gen/%.c | $(PB_H) fuzz-deps
	@mkdir -p $(dir $@)
	@echo "  FUZZCC $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_O)/obj/%.o: %.c | $(PB_H) fuzz-deps
	@mkdir -p $(dir $@)
	@echo "  FUZZCC $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_O)/bin/%: $(FUZZ_O)/obj/tools/fuzz/%.o $(FUZZ_LIB_O)
	@mkdir -p $(dir $@)
	@echo "  FUZZLD $@"
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $^ -lleveldb -lprotobuf-c -luv -lpthread -lm -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: build fuzz-build
	@for t in fuzz_rawnode_mutated_traffic fuzz_store_mutated_traffic; do \
	    echo "fuzz: $$t, $(FUZZ_STEPS) steps, $(FUZZ_SEEDS) seeds"; \
	    FUZZ_STEPS=$(FUZZ_STEPS) SEEDS=$(FUZZ_SEEDS) $(O)/tests/fuzz --run $$t | grep -v '^\[' \
	        || exit 1; \
	done
	@for b in $(FUZZ_BINS); do \
	    n=$$(basename $$b); mkdir -p $(FUZZ_O)/corpus/$$n; \
	    echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	    $$b -max_total_time=$(FUZZ_SECONDS) -seed=1 -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_O)/$$n- $(FUZZ_O)/corpus/$$n 2>&1 \
	        | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|Done)' \
	        || true; \
	    test -z "$$(ls $(FUZZ_O)/$$n-crash-* $(FUZZ_O)/$$n-leak-* $(FUZZ_O)/$$n-timeout-* 2>/dev/null)" \
	        || { echo "fuzz: $$n found a crash: $(FUZZ_O)/$$n-*"; exit 1; }; \
	done

-include $(shell find $(FUZZ_O)/obj -name '*.d' 2>/dev/null)
