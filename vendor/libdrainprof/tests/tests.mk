# tests/tests.mk - the C test suite of libdrainprof, included by ../Makefile.
#
# From the Makefile: LIB_SRCS (library .c files), INCLUDE_DIR, WARN_CFLAGS,
# LIB_LDLIBS, OUT, and the targets `lib` and `install PREFIX=...`.
#
#   make check          plain build (-O1 -g): unit tests, drop-in and install tests
#   make check-asan     ASan + UBSan, halting on the first error
#   make check-tsan     ThreadSanitizer
#   make check-valgrind the plain binaries under valgrind (optional, slow)
#
# Each variant compiles the library sources itself, with its own flags, into
# $(OUT)/<variant>/ so that sanitizers see inside the library too.

DPT_DIR      := tests
DPT_TESTS    := $(sort $(basename $(notdir $(wildcard $(DPT_DIR)/test_*.c))))
DPT_VARIANTS := check asan tsan

DPT_FLAGS_check := -O1 -g
DPT_FLAGS_asan  := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
DPT_FLAGS_tsan  := -O1 -g -fsanitize=thread

DPT_CPPFLAGS := -I$(INCLUDE_DIR) -I$(DPT_DIR)

# test_oom fails the library's allocations one by one through link-time wrappers.
DPT_LDFLAGS_oom := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=posix_memalign
DPT_LDLIBS   := $(LIB_LDLIBS) -lpthread -lm

# $(1) = variant: objects of the library and one binary per test program.
define DPT_VARIANT_RULES
DPT_OBJS_$(1) := $$(patsubst %.c,$(OUT)/$(1)/obj/%.o,$(LIB_SRCS))
DPT_BINS_$(1) := $$(addprefix $(OUT)/$(1)/,$(DPT_TESTS))

$(OUT)/$(1)/obj/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $(WARN_CFLAGS) $$(DPT_FLAGS_$(1)) -MMD -MP -I$(INCLUDE_DIR) -c $$< -o $$@

$(OUT)/$(1)/test_%: $(DPT_DIR)/test_%.c $(DPT_DIR)/harness.h $$(DPT_OBJS_$(1))
	@mkdir -p $$(@D)
	$$(CC) $(WARN_CFLAGS) $$(DPT_FLAGS_$(1)) $(DPT_CPPFLAGS) $$< $$(DPT_OBJS_$(1)) -o $$@ \
	    $$(DPT_LDFLAGS_$$*) $(DPT_LDLIBS)

-include $$(DPT_OBJS_$(1):.o=.d)
endef
$(foreach v,$(DPT_VARIANTS),$(eval $(call DPT_VARIANT_RULES,$(v))))

.PHONY: check check-asan check-tsan check-valgrind check-dropin check-install \
        check-units check-units-asan check-units-tsan

check: check-units check-dropin check-install
check-asan: check-units-asan
check-tsan: check-units-tsan

check-units: $(DPT_BINS_check)
	@sh $(DPT_DIR)/run_tests.sh check $^
check-units-asan: $(DPT_BINS_asan)
	@sh $(DPT_DIR)/run_tests.sh asan $^
check-units-tsan: $(DPT_BINS_tsan)
	@sh $(DPT_DIR)/run_tests.sh tsan $^
check-valgrind: $(DPT_BINS_check)
	@sh $(DPT_DIR)/run_tests.sh valgrind $(filter-out %/test_concurrency,$^)

# ---- a 0.1 user: only <drainprof.h>, designated initialisers, -ldrainprof ----

DPT_DROPIN_SRC   := $(DPT_DIR)/dropin/legacy_user.c
DPT_DROPIN_FLAGS := -std=c11 -Wall -Werror
DPT_DROPIN_OUT   := $(OUT)/dropin

check-dropin: lib
	@mkdir -p $(DPT_DROPIN_OUT)
	$(CC) $(DPT_DROPIN_FLAGS) -I$(INCLUDE_DIR) $(DPT_DROPIN_SRC) -o $(DPT_DROPIN_OUT)/legacy_static \
	    -L$(OUT) -Wl,-Bstatic -ldrainprof -Wl,-Bdynamic $(LIB_LDLIBS)
	$(CC) $(DPT_DROPIN_FLAGS) -I$(INCLUDE_DIR) $(DPT_DROPIN_SRC) -o $(DPT_DROPIN_OUT)/legacy_shared \
	    -L$(OUT) -ldrainprof -Wl,-rpath,$(abspath $(OUT)) $(LIB_LDLIBS)
	@if readelf -d $(DPT_DROPIN_OUT)/legacy_static | grep -q 'NEEDED.*libdrainprof'; then \
	    echo "dropin: the static build depends on libdrainprof.so"; exit 1; fi
	@if ! readelf -d $(DPT_DROPIN_OUT)/legacy_shared | grep -q 'NEEDED.*libdrainprof'; then \
	    echo "dropin: the shared build does not load libdrainprof.so"; exit 1; fi
	$(DPT_DROPIN_OUT)/legacy_static
	$(DPT_DROPIN_OUT)/legacy_shared

# The same program against an installed prefix, and nothing else.
check-install:
	@set -e; prefix=$$(mktemp -d); trap 'rm -rf "$$prefix"' EXIT; \
	$(MAKE) --no-print-directory install PREFIX="$$prefix" >/dev/null; \
	for h in drainprof.h drainprof_ext.h; do \
	    test -f "$$prefix/include/$$h" || { echo "install: $$prefix/include/$$h missing"; exit 1; }; done; \
	for l in libdrainprof.a libdrainprof.so; do \
	    test -e "$$prefix/lib/$$l" || { echo "install: $$prefix/lib/$$l missing"; exit 1; }; done; \
	echo "install test: PREFIX=$$prefix"; \
	$(CC) $(DPT_DROPIN_FLAGS) -I"$$prefix/include" $(DPT_DROPIN_SRC) -o "$$prefix/legacy_shared" \
	    -L"$$prefix/lib" -ldrainprof -Wl,-rpath,"$$prefix/lib" $(LIB_LDLIBS); \
	$(CC) $(DPT_DROPIN_FLAGS) -I"$$prefix/include" $(DPT_DROPIN_SRC) -o "$$prefix/legacy_static" \
	    -L"$$prefix/lib" -Wl,-Bstatic -ldrainprof -Wl,-Bdynamic $(LIB_LDLIBS); \
	"$$prefix/legacy_shared"; "$$prefix/legacy_static"
