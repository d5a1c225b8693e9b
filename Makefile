# TinyKV-C: the one entry point.
#
#   make                build every library, binary and test suite into build/
#   make test           strict: build with -Werror, lint, every suite; fails if lint
#                       or any test fails (CI relies on it)
#   make check          build with -Werror and run every suite, without lint
#   make project1       one graded suite (likewise project2a ... project4c, frame)
#   make grade          grading mode on this tree: no -Werror, a file that does not
#                       compile costs only the tests that need it, lint reported ungraded
#   make grade-submission SUB=path   grade a student's tree, .zip or .tar.gz against
#                       a pristine handout (docs/instructors.md)
#   make autograder     build/autograder.zip for Gradescope
#   make grade-class DIR=path        grade every submission under path
#   make demo           the cluster tour: 3 stores, splits, a transaction, kill -9, restart
#   make demo-standalone  one standalone server (project 1) and tinykv-ctl
#   make cluster        a scheduler and $(STORES) stores on loopback in $(CLUSTER_DIR)
#                       (default 3, build/cluster); make cluster-stop stops them
#   make cluster-check  a real 3-store cluster: kill -9 under load (linearizable),
#                       a wiped store replaced, splits, bad input (docs/cluster.md)
#   make handout        the student tree in build/handout (FROM=project2a keeps earlier stages)
#   make handout-check  build that tree and prove its graded tests fail and frame tests pass
#   make SANITIZE=1 ... the same, built with AddressSanitizer + UBSan into build/san
#
# Variables the grader takes: TEST=glob (a test name or suite/name, '*' allowed),
# JOBS=n (tests at once), SEED=n (replay one seed), SEEDS=k (k seeds each; time
# limits grow k times), VERBOSE=1 (cmocka's own lines in failure reports).
#
# Sources are found by folder, so adding a .c file needs no edit here:
#   library code   common/ project1-standalone/ project2-raft/{raft,raftstore}/
#                  project3-multiraft/ (and scheduler/) project4-txn/ (and one level below)
#                  runtime/ server/ client/
#   test binaries  tests/<dir>/*.c, linked with tests/harness/*.c, one binary per <dir>
#   programs       cmd/<name>.c and tools/<name>.c, one binary each

SHELL := /bin/bash
# The builds that test, check and grade start use every core unless make was
# given -j already (a clean build: 33 s with one job, 16 s with two), each
# file's compiler messages kept together.
NPROC := $(shell nproc 2>/dev/null || echo 1)
PAR := $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(NPROC) --output-sync=target)
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
# GRADING=1 is the grading build (make grade, grade-submission, the autograder):
# student code is compiled without -Werror, and a file that does not compile is
# replaced by its handout stub from STUB_DIR (when given) or left out, its
# compiler message kept in $(BERR)/ for the report; a binary that then does not
# link is left out too. Nothing stops the build, so every suite that can be
# graded is. It builds into a folder of its own, so a warning tolerated here is
# never mistaken for an up-to-date object by the strict build.
ifeq ($(GRADING),1)
O := $(O)/grading
endif
BERR := $(O)/build-errors

# Generated protobuf code is not ours: it is built without -Werror so a newer
# protoc-c cannot break the build; everything we write gets the strict set.
BASE_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 $(SAN) \
               -I. -I$(O)/gen -MMD -MP
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-missing-field-initializers
ifneq ($(GRADING),1)
WARN += -Werror
endif
CFLAGS_ALL := $(BASE_CFLAGS) $(WARN) $(CFLAGS)
LDLIBS := -lleveldb -lprotobuf-c -luv -lcmocka -lpthread -lm
LDFLAGS_ALL := $(SAN) $(LDFLAGS)

PROTOS   := $(wildcard common/proto/*.proto)
PB_C     := $(patsubst common/proto/%.proto,$(O)/gen/proto/%.pb-c.c,$(PROTOS))
PB_H     := $(PB_C:.c=.h)
PB_O     := $(patsubst $(O)/gen/%.c,$(O)/obj/gen/%.o,$(PB_C))

LIB_DIRS := common project1-standalone project2-raft/raft project2-raft/raftstore \
            project3-multiraft project3-multiraft/raftstore project3-multiraft/scheduler \
            project4-txn $(wildcard project4-txn/*/) runtime server client
LIB_SRCS := $(sort $(foreach d,$(LIB_DIRS),$(wildcard $(d:/=)/*.c)))
LIB_O    := $(patsubst %.c,$(O)/obj/%.o,$(LIB_SRCS))
LIB      := $(O)/libtinykv.a

HARNESS_O := $(patsubst %.c,$(O)/obj/%.o,$(wildcard tests/harness/*.c))
TEST_DIRS := $(filter-out harness,$(notdir $(patsubst %/,%,$(wildcard tests/*/))))
TEST_BINS := $(addprefix $(O)/tests/,$(TEST_DIRS))

CMD_BINS  := $(patsubst cmd/%.c,$(O)/bin/%,$(wildcard cmd/*.c))
TOOL_BINS := $(patsubst tools/%.c,$(O)/bin/%,$(wildcard tools/*.c)) $(O)/bin/cluster-check

GRADER  := $(O)/bin/grade
GRADE_OUT := $(B)/grade
# JOBS=n: how many tests the grader runs at once (default: one per core); the
# grader refuses anything but a whole number. TEST is quoted so a glob reaches
# the grader unexpanded.
GRADE_FLAGS += $(if $(JOBS),--jobs '$(JOBS)') $(if $(TEST),--test '$(TEST)') \
               $(if $(filter 1,$(VERBOSE)),--verbose) --out $(GRADE_OUT)
HANDOUT := $(O)/bin/handout

SUITES := frame project1 project2a project2b project2c project3a project3b project3c \
          project2x project3x \
          project4a project4b project4c

# Keep generated and intermediate files (objects, protobuf code) between runs.
.SECONDARY:
.PHONY: all deps build test check grade lint lint-report format demo demo-standalone handout handout-check \
        grade-submission autograder grade-class clean clean-results $(SUITES)
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
ifneq ($(GRADING),1)
$(O)/obj/%.o: %.c | $(PB_H)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB): $(LIB_O) $(PB_O)
	@rm -f $@
	@echo "  AR    $@"
	$(Q)ar rcs $@ $^

# $(1): the binary, $(2): its objects and libraries.
link = $(CC) $(LDFLAGS_ALL) $(2) $(LDLIBS) -o $(1)
else
# Grading: warnings are kept in $(BERR)/FILE.c.warn and shown; a compile error
# goes to $(BERR)/FILE.c.log and the handout's stub (STUB_DIR/FILE.c) is
# compiled instead, or no object is made. The recipe never fails.
$(O)/obj/%.o: %.c | $(PB_H)
	@mkdir -p $(dir $@) $(dir $(BERR)/$<)
	@echo "  CC    $<"
	$(Q)rm -f $(BERR)/$<.log $(BERR)/$<.warn; \
	if $(CC) $(CFLAGS_ALL) -c $< -o $@ 2>$(BERR)/$<.warn; then \
	    cat $(BERR)/$<.warn >&2; [ -s $(BERR)/$<.warn ] || rm -f $(BERR)/$<.warn; \
	else \
	    mv $(BERR)/$<.warn $(BERR)/$<.log; cat $(BERR)/$<.log >&2; rm -f $@; \
	    if [ -n "$(STUB_DIR)" ] && [ -f "$(STUB_DIR)/$<" ] && \
	       $(CC) $(CFLAGS_ALL) -c "$(STUB_DIR)/$<" -o $@ 2>/dev/null; then \
	        echo "  GRADE $< does not compile: the handout's stub stands in for it" >&2; \
	        echo "(graded as the handout's stub of this file)" >>$(BERR)/$<.log; \
	    else \
	        rm -f $@; echo "  GRADE $< does not compile: left out" >&2; \
	    fi; \
	fi

# Only the objects that exist: a binary that needs a missing one fails to link.
$(LIB): $(LIB_O) $(PB_O)
	@rm -f $@
	@echo "  AR    $@"
	$(Q)ar rcs $@ $(wildcard $(LIB_O)) $(PB_O)

# A failed link leaves no binary and its message in $(BERR)/<dir>/<name>.link.log.
link = mkdir -p $(BERR)/$(notdir $(patsubst %/,%,$(dir $(1)))); \
       log=$(BERR)/$(notdir $(patsubst %/,%,$(dir $(1))))/$(notdir $(1)).link.log; \
       if $(CC) $(LDFLAGS_ALL) $(2) $(LDLIBS) -o $(1) 2>$$log; then rm -f $$log; \
       else cat $$log >&2; rm -f $(1); echo "  GRADE $(1) does not link: left out" >&2; fi
endif

# One test binary per folder under tests/: its own files, the harness, the library.
define test_bin
$(O)/tests/$(1): $(patsubst %.c,$(O)/obj/%.o,$(wildcard tests/$(1)/*.c)) $(HARNESS_O) $(LIB)
	@mkdir -p $$(dir $$@)
	@echo "  LD    $$@"
	$(Q)$$(call link,$$@,$$^)
endef
$(foreach t,$(TEST_DIRS),$(eval $(call test_bin,$(t))))

$(O)/bin/%: $(O)/obj/cmd/%.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(call link,$@,$^)

# The grader's parts live in tools/grading/; it drops cmocka's framing lines as
# the test binaries' --quiet does (tests/harness/cmocka_lines.c).
GRADING_O := $(patsubst %.c,$(O)/obj/%.o,$(wildcard tools/grading/*.c))
$(O)/bin/grade: $(GRADING_O) $(O)/obj/tests/harness/cmocka_lines.o

$(O)/bin/%: $(O)/obj/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(call link,$@,$^)

# cluster-check has several parts (tools/cluster_check/) and judges its
# history with the harness's linearizability checker.
CLUSTER_CHECK_O := $(patsubst %.c,$(O)/obj/%.o,$(wildcard tools/cluster_check/*.c)) \
                   $(O)/obj/tests/harness/history.o $(O)/obj/tests/harness/linearizability.o
$(O)/bin/cluster-check: $(CLUSTER_CHECK_O) $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(call link,$@,$^)

# ---- grading --------------------------------------------------------------------
# Every way of grading first removes the last results, so a run that stops
# early (a build error, Ctrl-C) leaves no stale score behind.
#
# `make test` is what CI runs: the strict build, lint, then every suite. Lint
# never keeps the suites from running and is shown as an ungraded line; it
# still makes `make test` fail, as any failed test does.
clean-results:
	@rm -rf $(GRADE_OUT)

test: clean-results
	@$(MAKE) --no-print-directory $(PAR) build
	@$(MAKE) --no-print-directory lint-report
	@rc=0; $(GRADER) $(GRADE_FLAGS) --lint $(GRADE_OUT)/lint.txt $(TEST_BINS) || rc=$$?; \
	if ! head -1 $(GRADE_OUT)/lint.txt | grep -qx ok; then \
	    echo "make test: lint failed (run 'make format'; details: $(GRADE_OUT)/lint.txt)" >&2; \
	    [ $$rc -ne 0 ] || rc=1; \
	fi; exit $$rc

check: clean-results
	@$(MAKE) --no-print-directory $(PAR) build
	@$(GRADER) $(GRADE_FLAGS) $(TEST_BINS)

$(SUITES): clean-results
	@$(MAKE) --no-print-directory $(PAR) build
	@$(GRADER) $(GRADE_FLAGS) --suite $@ $(TEST_BINS)

# Grading mode (GRADING=1): see the top of this file. LINT_FILES narrows lint
# to the student's files when grading a submission.
grade: clean-results
	@$(MAKE) --no-print-directory $(PAR) GRADING=1 -k build || true
	@$(MAKE) --no-print-directory lint-report
	@$(MAKE) --no-print-directory GRADING=1 grade-run

ifeq ($(GRADING),1)
grade-run:
	@$(GRADER) $(GRADE_FLAGS) --lint $(GRADE_OUT)/lint.txt --build-errors $(BERR) \
	    $(if $(CATALOG),--catalog $(CATALOG)) $(if $(IGNORED),--ignored $(IGNORED)) \
	    $(GRADE_EXTRA) $(TEST_BINS)
endif

# ---- style ------------------------------------------------------------------------
SRC_ALL := $(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')

LINT_FILES ?= $(SRC_ALL)
# cppcheck keeps each file's result in $(B)/cppcheck and analyses again only
# what changed (or what a changed header reaches): 16 s the first time on 2
# cores, about 3 s after that.
lint:
	@echo "lint: clang-format ($(words $(LINT_FILES)) files)"
	@clang-format --dry-run --Werror $(LINT_FILES)
	@echo "lint: cppcheck"
	@mkdir -p $(B)/cppcheck
	@cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
	    --inline-suppr --suppress=missingIncludeSystem -I. -j $(NPROC) \
	    --cppcheck-build-dir=$(B)/cppcheck $(LINT_FILES)
	@echo "lint: ok"

# Lint as a report for the grader: $(GRADE_OUT)/lint.txt starts with "ok" or
# "failed", then what lint said. Never fails itself.
lint-report:
	@mkdir -p $(GRADE_OUT)
	@if $(MAKE) --no-print-directory lint >$(GRADE_OUT)/lint.out 2>&1; then echo ok; \
	 else echo failed; fi >$(GRADE_OUT)/lint.txt
	@cat $(GRADE_OUT)/lint.out >>$(GRADE_OUT)/lint.txt; rm -f $(GRADE_OUT)/lint.out
	@echo "lint: $$(head -1 $(GRADE_OUT)/lint.txt) (ungraded; $(GRADE_OUT)/lint.txt)"

format:
	clang-format -i $(SRC_ALL)

# ---- demo and handout ---------------------------------------------------------
demo: build
	@tools/demo-cluster.sh $(O)/bin

demo-standalone: build
	@tools/demo.sh $(O)/bin

# ---- a real cluster on loopback (docs/cluster.md) ------------------------------
# CLUSTER_DIR holds the data, logs, pid files and env (TINYKV_SCHEDULER=...);
# STORES is how many tinykv-server stores run. cluster-check starts its own
# cluster in a scratch dir (tools/cluster_check/: kill -9 of stores and of
# the scheduler under several clients, a wiped store, splits, bad input).
CLUSTER_DIR ?= $(B)/cluster
STORES ?= 3
.PHONY: cluster cluster-stop cluster-check
cluster: build
	@tools/cluster.sh start $(O)/bin $(CLUSTER_DIR) $(STORES)

cluster-stop:
	@tools/cluster.sh stop $(CLUSTER_DIR)

cluster-check: build
	@$(O)/bin/cluster-check --bin $(O)/bin

# The rest is the instructor's: the handout leaves these tools out.
ifneq ($(wildcard tools/handout.c),)
handout: build
	@$(HANDOUT) $(if $(FROM),--from $(FROM)) . $(B)/handout

handout-check: handout
	@tools/handout-check.sh $(B)/handout $(FROM)

# SUB=path: a student's tree, .zip or .tar.gz, graded on a pristine handout.
grade-submission: handout
	@test -n "$(SUB)" || { echo "usage: make grade-submission SUB=path (a tree, .zip or .tar.gz)" >&2; exit 2; }
	@tools/grade-submission.sh --pristine $(B)/handout --out $(B)/submission \
	    $(if $(JOBS),--jobs '$(JOBS)') '$(SUB)'

# DIR=path: every submission in it (folders, .zip, .tar.gz), into build/class.
grade-class: handout
	@test -n "$(DIR)" || { echo "usage: make grade-class DIR=path (a folder of submissions)" >&2; exit 2; }
	@tools/grade-class --pristine $(B)/handout --out $(B)/class '$(DIR)'

# Gradescope's package; its settings: tools/autograder/autograder.conf.
autograder: handout
	@tools/autograder/make-zip.sh $(B)/handout $(B)/autograder.zip
endif

clean:
	rm -rf $(B)

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)

# ---- the trace viewer page and the seed sweep ------------------------------------
# The viewer page's script and styles (tests/harness/trace_page.{js,css}) are
# compiled into the harness as C strings, so every failing test can write its
# page with no file to find at run time. Each line becomes a string literal;
# '?' is escaped so no trigraph can form.
PAGE_ASSETS := $(O)/gen/trace_page_assets.h
$(PAGE_ASSETS): tests/harness/trace_page.css tests/harness/trace_page.js
	@mkdir -p $(dir $@)
	@echo "  GEN   $@"
	$(Q)for f in css js; do \
	    echo "static const char trace_page_$$f[] ="; \
	    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' \
	        tests/harness/trace_page.$$f; \
	    echo ";"; \
	done >$@.tmp && mv $@.tmp $@
$(O)/obj/tests/harness/trace_page.o: $(PAGE_ASSETS)

# trace-view is the page writer of the harness as a command.
$(O)/bin/trace-view: $(O)/obj/tools/trace-view.o $(O)/obj/tests/harness/trace_page.o \
                     $(O)/obj/tests/harness/trace_model.o $(O)/obj/tests/harness/trace_synth.o \
                     $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(CC) $(LDFLAGS_ALL) $^ $(LDLIBS) -o $@

# make sweep SUITE=project2b SEEDS=200 JOBS=2 [TEST=name] [FROM=1] [STOP=1] [SHRINK=1]:
# seeds FROM..FROM+SEEDS-1 of every randomized test of a suite, a table of
# the failing seeds, the first failure's trace and page kept (tools/sweep.sh).
.PHONY: sweep
sweep: build
	@tools/sweep.sh --suite "$(SUITE)" --seeds "$(or $(SEEDS),20)" --jobs "$(or $(JOBS),2)" \
	    $(if $(TEST),--test "$(TEST)") $(if $(FROM),--from "$(FROM)") $(if $(STOP),--stop) \
	    $(if $(SHRINK),--shrink) --out $(B)/sweep $(TEST_BINS)

# ---- mutation check -------------------------------------------------------------
# Not part of `make test`: plants each plausible-bug patch of tools/mutants/<suite>/
# in a scratch copy (build/mutation/tree), runs that suite, and reports per suite how
# many were killed, the survivors and the time (build/mutation/report.txt).
# MUTATION=project2a limits it to some suites. See docs/contributing.md.
.PHONY: mutation
mutation:
	@tools/mutation.sh $(MUTATION)

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
