# Makefile: the front door. `make` builds the library, the endpoint binaries,
# the worker, the tools and the emulators; `make test` brings a private stack up,
# runs every test and takes it down again; `make bench` measures throughput.

BUILD    ?= release
OUT      := build/$(BUILD)
CXX      ?= g++
CXXSTD   := -std=c++17
WARN     := -Wall -Wextra -Werror -Wno-deprecated-declarations
DEFS     := -DUSE_OS_TZDB=1
ifeq ($(BUILD),asan)
OPT      := -O1 -g -Wno-maybe-uninitialized -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN    := -fsanitize=address,undefined
else
OPT      := -O2 -g
LDSAN    :=
endif
CXXFLAGS := $(CXXSTD) $(WARN) $(OPT) $(DEFS) -Ilib -I/usr/include/jsoncpp -MMD -MP
LIBS     := -lfcgi -lmysqlcppconn -ljsoncpp -lcurl -lssl -lcrypto -ldate-tz -lpthread
HTTPLIB  := -DCPPHTTPLIB_OPENSSL_SUPPORT -DCPPHTTPLIB_ZLIB_SUPPORT -DCPPHTTPLIB_BROTLI_SUPPORT
EMULIBS  := -lcpp-httplib

LIB_SRC  := $(wildcard lib/*.cpp)
LIB_OBJ  := $(patsubst lib/%.cpp,$(OUT)/lib/%.o,$(LIB_SRC))
LIB_A    := $(OUT)/libcoach.a

CGI_SRC  := $(wildcard cgi-bin/*.cpp)
CGI_BIN  := $(patsubst cgi-bin/%.cpp,$(OUT)/cgi-bin/%,$(CGI_SRC))
TOOL_SRC := $(wildcard tools/*.cpp)
TOOL_BIN := $(patsubst tools/%.cpp,$(OUT)/tools/%,$(TOOL_SRC))
EMU_SRC  := $(wildcard tests/emulators/*.cpp)
EMU_BIN  := $(patsubst tests/emulators/%.cpp,$(OUT)/emulators/%,$(EMU_SRC))
TEST_SRC := $(wildcard tests/test_*.cpp)
TEST_BIN := $(patsubst tests/%.cpp,$(OUT)/tests/%,$(TEST_SRC))

.PHONY: all lib cgi tools emulators tests test unit bench clean deps
all: $(LIB_A) $(CGI_BIN) $(TOOL_BIN) $(EMU_BIN)
lib: $(LIB_A)
cgi: $(CGI_BIN)
tools: $(TOOL_BIN)
emulators: $(EMU_BIN)
tests: $(TEST_BIN)

$(OUT)/lib/%.o: lib/%.cpp
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(@D)
	@# Built aside and renamed: a concurrent make never links a half-written archive.
	rm -f $@.$$$$.tmp && ar rcs $@.$$$$.tmp $^ && mv $@.$$$$.tmp $@

$(OUT)/cgi-bin/%: cgi-bin/%.cpp $(LIB_A)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $< -o $@ $(LIB_A) $(LIBS) $(LDSAN)

$(OUT)/tools/%: tools/%.cpp $(LIB_A)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $< -o $@ $(LIB_A) $(LIBS) $(LDSAN)

$(OUT)/emulators/%: tests/emulators/%.cpp $(wildcard tests/emulators/*.hpp) $(LIB_A)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $(HTTPLIB) -Itests/emulators $< -o $@ $(LIB_A) $(EMULIBS) $(LIBS) $(LDSAN)

$(OUT)/tests/%: tests/%.cpp $(wildcard tests/*.hpp) $(LIB_A)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -Itests $< -o $@ $(LIB_A) -lboost_unit_test_framework $(LIBS) $(LDSAN)

# Everything below brings up real servers; see scripts/.
deps:
	scripts/install-deps.sh

test:
	scripts/run-tests.sh

# Unit tests only (no servers), sanitizer build.
unit:
	$(MAKE) BUILD=asan tests
	scripts/run-unit.sh build/asan/tests

bench:
	scripts/bench.sh

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d)
