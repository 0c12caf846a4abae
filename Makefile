# webfw.h - build, test, run, fuzz and benchmark.
#   make          examples, the README's code and tests, warning-free under gcc and clang
#   make run      start the tour app (examples/tour.c) on PORT (default 8000)
#   make chat     start the browser chat (examples/chat.c) on PORT (default 8000)
#   make test     the layering and line-length checks; the whole suite built with gcc (also run under
#                 a decimal-comma locale), with clang, with the portable code paths (poll(), SHA-256 in
#                 C), with ASan+UBSan and with TSan; the tour against FastAPI itself; and outside
#                 WebSocket clients against bench_app (make test-ws: Autobahn's cases, python, node)
#   make fuzz     libFuzzer on each parser and on the loop (FUZZ_TARGETS: http route json tokens app
#                 loop ws wsconn) for FUZZ_SECONDS (default 60) each
#   make bench    wrk against examples/bench_app.c and nginx, side by side; crypto against openssl;
#                 WebSockets against npm ws and libwebsockets (make bench-ws)

PORT ?= 8000
FUZZ_SECONDS ?= 60
JOBS ?= 2
B := build

WARN := -std=c11 -Wall -Wextra -Werror -pedantic -Wshadow -Wstrict-prototypes
LIBS := -lpthread
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

TEST_SRC := tests/impl.c tests/util.c tests/vectors.c $(wildcard tests/test_*.c)
TEST_DEPS := $(TEST_SRC) tests/util.h tests/vectors.h webfw.h examples/tour.c examples/bench_app.c examples/notes.c \
             examples/chat.c
EXAMPLES := hello bench_app tour tokens notes chat

.PHONY: all run chat test test-gcc test-clang test-poll test-asan test-tsan test-diff compile-checks deps fuzz bench clean
.PHONY: examples readme lint check-layers check-lines
all: examples $(B)/gcc/tests $(B)/clang/tests compile-checks

# ---- examples: hello (the Quick Start), the tour (make run), the chat (make chat), bench_app (make
# bench), tokens, notes. Each is built with gcc and clang under WARN and with a bare `cc x.c -lpthread`,
# and is compiled once without webfw.h's implementation (WF__IMPL_INCLUDED is its include guard), whose
# #includes would otherwise stand in for the system headers the example uses. And every ```c block of
# README.md compiles (tests/readme_code.sh) ----
examples: $(foreach e,$(EXAMPLES),$(B)/$(e) $(B)/clang/$(e) $(B)/plain/$(e)) readme

$(B)/%: examples/%.c webfw.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g -o $@ $< $(LIBS)

$(B)/clang/%: examples/%.c webfw.h
	@mkdir -p $(@D)
	clang $(WARN) -O2 -o $@ $< $(LIBS)

$(B)/plain/%: examples/%.c webfw.h
	@mkdir -p $(@D)
	cc $(WARN) -DWF__IMPL_INCLUDED -fsyntax-only $<
	cc -o $@ $< -lpthread

readme: $(B)/readme/.built
$(B)/readme/.built: README.md webfw.h tests/readme_code.sh
	tests/readme_code.sh $(B)/readme/gcc gcc $(WARN) -O1
	tests/readme_code.sh $(B)/readme/clang clang $(WARN) -O1
	@touch $@

run: $(B)/tour
	PORT=$(PORT) ./$(B)/tour

chat: $(B)/chat
	PORT=$(PORT) ./$(B)/chat

# ---- tests: one binary per compiler/sanitizer, plus the harness's helper ----
$(B)/gcc/tests: $(TEST_DEPS) $(B)/gcc/harness_helper
	gcc $(WARN) -O2 -g -o $@ $(TEST_SRC) $(LIBS)
$(B)/gcc/harness_helper: tests/harness_helper.c webfw.h
	@mkdir -p $(@D)
	gcc $(WARN) -O1 -g -o $@ $< $(LIBS)

$(B)/clang/tests: $(TEST_DEPS) $(B)/clang/harness_helper
	clang $(WARN) -O2 -g -o $@ $(TEST_SRC) $(LIBS)
$(B)/clang/harness_helper: tests/harness_helper.c webfw.h
	@mkdir -p $(@D)
	clang $(WARN) -O1 -g -o $@ $< $(LIBS)

# the portable code paths: the poll() backend (Linux uses epoll unless WF_USE_POLL), SHA-256
# without the CPU's SHA extensions, files beneath a root opened without openat2 (an O_NOFOLLOW walk),
# and the shortest-double writer's 128-bit products made of 64-bit halves
$(B)/poll/tests: $(TEST_DEPS) $(B)/gcc/harness_helper
	@mkdir -p $(@D)
	cp $(B)/gcc/harness_helper $(B)/poll/harness_helper
	gcc $(WARN) -DWF_USE_POLL -DWF_NO_SHA_NI -DWF_NO_OPENAT2 -DWF__NO_INT128 -O2 -g -o $@ $(TEST_SRC) $(LIBS)

$(B)/asan/tests: $(TEST_DEPS) $(B)/asan/harness_helper
	gcc $(WARN) $(SAN) -O1 -g -o $@ $(TEST_SRC) $(LIBS)
$(B)/asan/harness_helper: tests/harness_helper.c webfw.h
	@mkdir -p $(@D)
	gcc $(WARN) $(SAN) -O1 -g -o $@ $< $(LIBS)

# ThreadSanitizer: the hand-offs between loop threads, workers and the test's own threads
$(B)/tsan/tests: $(TEST_DEPS) $(B)/tsan/harness_helper
	gcc $(WARN) -fsanitize=thread -O1 -g -o $@ $(TEST_SRC) $(LIBS)
$(B)/tsan/harness_helper: tests/harness_helper.c webfw.h
	@mkdir -p $(@D)
	gcc $(WARN) -fsanitize=thread -O1 -g -o $@ $< $(LIBS)

# the library as static functions, without the harness, and its declarations under C++
compile-checks: tests/compile_static.c tests/compile_minimal.c tests/compile_cpp.cpp webfw.h
	@mkdir -p $(B)/compile
	gcc $(WARN) -o $(B)/compile/static_gcc tests/compile_static.c $(LIBS)
	clang $(WARN) -o $(B)/compile/static_clang tests/compile_static.c $(LIBS)
	gcc $(WARN) -o $(B)/compile/minimal_gcc tests/compile_minimal.c $(LIBS)
	clang $(WARN) -o $(B)/compile/minimal_clang tests/compile_minimal.c $(LIBS)
	g++ -std=c++11 -Wall -Wextra -Werror -pedantic -c -o $(B)/compile/cpp.o tests/compile_cpp.cpp

deps:
	@tests/deps.sh test

test-gcc: $(B)/gcc/tests
	./$(B)/gcc/tests -j $(JOBS)
test-clang: deps $(B)/clang/tests
	./$(B)/clang/tests -j $(JOBS)
test-poll: $(B)/poll/tests
	./$(B)/poll/tests -j $(JOBS)
test-asan: $(B)/asan/tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ./$(B)/asan/tests -j $(JOBS)

# without address-space randomisation: TSan's shadow memory cannot map around high-entropy layouts
test-tsan: $(B)/tsan/tests
	TSAN_OPTIONS=halt_on_error=1 setarch $$(uname -m) -R ./$(B)/tsan/tests -j $(JOBS) --timeout=60000

# the tour against FastAPI 0.92 itself (Debian's), the same raw requests to both (tests/diff)
test-diff: $(B)/tour
	/usr/bin/python3 tests/diff/compare.py

# outside WebSocket clients against bench_app's WS /ws-echo on a free port of 127.0.0.1 (tests/ws/run.py):
# Autobahn|Testsuite's cases over raw frames (WS_FULL=1: all of section 9), Debian's python3-websockets,
# and the npm ws package pinned by tests/ws/package-lock.json, which npm ci installs in build/ws-node
.PHONY: test-ws
test-ws: deps $(B)/bench_app $(B)/ws-node/node_modules/ws/package.json
	/usr/bin/python3 tests/ws/run.py $(B)/bench_app --node-path $(B)/ws-node/node_modules $(if $(WS_FULL),--full)
$(B)/ws-node/node_modules/ws/package.json: tests/ws/package.json tests/ws/package-lock.json
	@mkdir -p $(B)/ws-node
	cp tests/ws/package.json tests/ws/package-lock.json $(B)/ws-node/
	cd $(B)/ws-node && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# the tests that read or write numbers, under a decimal-comma locale as a program that calls
# setlocale(LC_ALL, "") would run them: at start-up tests/test_locale.c sets the locale WF_TEST_LOCALE
# names, and stops the run if it is missing (deps generates it) or its decimal point is not a comma
LOCALE_TESTS := locale_ json_ params_ body_ tour_
.PHONY: test-locale
test-locale: deps $(B)/gcc/tests
	@rc=0; for t in $(LOCALE_TESTS); do \
	  echo "== WF_TEST_LOCALE=de_DE.UTF-8 --filter='$$t*'"; \
	  [ -n "$$(./$(B)/gcc/tests --list --filter="$$t*")" ] || { echo "no test is named $$t*"; rc=1; }; \
	  WF_TEST_LOCALE=de_DE.UTF-8 ./$(B)/gcc/tests -j $(JOBS) --filter="$$t*" || rc=1; \
	done; exit $$rc

# the sections of webfw.h call only downward (tests/layers.py; exceptions in tests/layers.allow), and
# no line of the header, the examples or the tests is over 110 columns
lint: check-layers check-lines
check-layers:
	/usr/bin/python3 tests/layers.py
check-lines:
	tests/lines.sh

test: deps
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory examples compile-checks
	$(MAKE) --no-print-directory test-gcc
	$(MAKE) --no-print-directory test-locale
	$(MAKE) --no-print-directory test-diff
	$(MAKE) --no-print-directory test-ws
	$(MAKE) --no-print-directory test-clang
	$(MAKE) --no-print-directory test-poll
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-tsan

# ---- fuzzing: libFuzzer, each target for FUZZ_SECONDS; the HTTP corpus is seeded from h2o's ----
FUZZ_TARGETS := http route json tokens app loop ws wsconn
FUZZ_FLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c webfw.h
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -o $@ $< $(LIBS)

$(B)/fuzz/corpus_http/.seeded: tests/fuzz/h2o-http1-corpus.tar.gz
	@mkdir -p $(@D)
	tar -xzf $< -C $(@D) --strip-components=2
	@touch $@

$(B)/fuzz/corpus_route/.seeded:
	@mkdir -p $(@D)
	printf 'items/5' > $(@D)/a; printf 'n/1.5' > $(@D)/b; printf 'files/a%%2Fb/c' > $(@D)/c
	@touch $@

$(B)/fuzz/corpus_json/.seeded:
	@mkdir -p $(@D)
	printf '{"a":[1,2.5e3,"x\\u00e9"],"b":{"c":null,"d":true}}' > $(@D)/a; printf '[]' > $(@D)/b
	@touch $@

$(B)/fuzz/corpus_tokens/.seeded:
	@mkdir -p $(@D)
	printf '\000Zm9vYmFy' > $(@D)/a; printf '\001Zm9vYg' > $(@D)/b
	printf '\002eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhIn0.x' > $(@D)/c
	printf '\003$$2b$$04$$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW' > $(@D)/d
	printf '\003$$pbkdf2-sha256$$1000$$c2FsdA$$AAAA' > $(@D)/e
	@touch $@

$(B)/fuzz/corpus_app/.seeded:
	@mkdir -p $(@D)
	printf '\000/items/5?limit=3&q=x&tag=a&tag=b\nX-Token: t\nCookie: session=ab\n\n' > $(@D)/a
	printf '\001/form\nContent-Type: application/x-www-form-urlencoded\n\nusername=a+b&password=%%41&n=3' > $(@D)/b
	printf '\001/json\nContent-Type: application/json\n\n{"name":"x","price":"1.5","qty":2}' > $(@D)/c
	printf '\010/stream?n=5\n\n' > $(@D)/d; printf '\003/api/items/7/?fail=1\n\n' > $(@D)/e
	printf '\002/echo\n\nhello' > $(@D)/f; printf '\000/blocking/5?limit=3\n\n' > $(@D)/g
	@touch $@

# fuzz_ws: 3 control bytes (flags: client, message limit; two piece sizes; see the file), then frames:
# RFC 6455's masked "Hello" and ping, fragments with a ping between, a server's unmasked frames, UTF-8
# text and a close reason, a message over the limit, text failing inside a fragment
$(B)/fuzz/corpus_ws/.seeded:
	@mkdir -p $(@D)
	printf "\000\000\000\201\205\067\372\041\075\177\237\115\121\130\211\205\067\372\041\075\177\237\115\121\130\
	\210\202\000\000\000\000\003\350" > $(@D)/a
	printf "\000\003\001\001\203\000\000\000\000Hel\211\200\000\000\000\000\200\202\000\000\000\000lo\
	\202\376\000\176\001\002\003\004%0126d" 0 > $(@D)/b
	printf "\001\000\000\201\005Hello\001\003Hel\212\000\200\002lo\202\002\377\376\210\002\003\350" > $(@D)/c
	printf "\002\007\000\201\213\000\000\000\000\316\272\341\275\271\317\203\316\274\316\265\
	\210\205\000\000\000\000\003\350bye" > $(@D)/d
	printf "\006\001\000\201\213\000\000\000\000hello world" > $(@D)/e
	printf "\000\002\000\001\204\000\000\000\000ab\355\240\200\202\000\000\000\000\200\200" > $(@D)/f
	@touch $@

# fuzz_wsconn: a byte choosing the handshake's variations, a byte for the piece size, then frames
$(B)/fuzz/corpus_wsconn/.seeded:
	@mkdir -p $(@D)
	printf "\000\005\201\205\001\002\003\004ignor\210\202\000\000\000\000\003\350" > $(@D)/a
	printf "\003\001\211\200\000\000\000\000\201\201\000\000\000\000b\210\200\000\000\000\000" > $(@D)/b
	printf "\204\077\001\201\000\000\000\000c" > $(@D)/c
	printf "\100\000" > $(@D)/d
	@touch $@

# fuzz_loop: 4 control bytes (flags, segment sizes; see the file), then what goes on the connection: h2o's
# corpus behind 01 00 00 00 (half-close after one segment), and requests for the app's routes
LOOP_H := HTTP/1.1\r\nHost: a\r\n
$(B)/fuzz/corpus_loop/.seeded: tests/fuzz/h2o-http1-corpus.tar.gz
	@rm -rf $(@D)/h2o; mkdir -p $(@D)/h2o
	tar -xzf $< -C $(@D)/h2o --strip-components=2
	for f in $(@D)/h2o/*; do { printf '\001\000\000\000'; cat "$$f"; } > $(@D)/h2o-$${f##*/}; done
	rm -rf $(@D)/h2o
	printf "\001\000\000\000GET /items/5?limit=3&q=x&tag=a&tag=b $(LOOP_H)X-Token: t\r\n\
	Cookie: session=ab\r\n\r\n" > $(@D)/a
	printf "\003\007\001\000POST /form $(LOOP_H)Content-Type: application/x-www-form-urlencoded\r\n\
	Content-Length: 29\r\n\r\nusername=a+b&password=%%41&n=3\
	POST /json $(LOOP_H)Content-Type: application/json\r\nContent-Length: 34\r\n\r\n\
	{\"name\":\"x\",\"price\":\"1.5\",\"qty\":2}" > $(@D)/b
	printf "\001\000\000\000GET /stream?n=5&size=100&head=1 $(LOOP_H)\r\nHEAD /stream $(LOOP_H)\r\n\
	HEAD /file $(LOOP_H)\r\nGET /close $(LOOP_H)\r\n" > $(@D)/c
	printf "\005\040\000\000GET /file $(LOOP_H)Range: bytes=10-99\r\n\r\n\
	GET /file $(LOOP_H)If-None-Match: x\r\n\r\nGET /file?missing=1 $(LOOP_H)\r\n" > $(@D)/d
	printf "\001\000\000\000GET /raise?status=409 $(LOOP_H)\r\nGET /raise?how=fail $(LOOP_H)\r\n\
	GET /raise?how=json&status=401 $(LOOP_H)\r\nGET /nope $(LOOP_H)\r\n\
	POST /items/5 $(LOOP_H)Content-Length: 0\r\n\r\n\
	DELETE /api/items/5 $(LOOP_H)\r\nGET /go?to=/x $(LOOP_H)X-Short: 1\r\n\r\n" > $(@D)/e
	printf "\001\110\005\000PUT /echo $(LOOP_H)Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello\
	PUT /echo $(LOOP_H)Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: y\r\n\r\n" > $(@D)/f
	printf "\000\000\000\000GET /stream?n=20&size=2000 HTTP/1.0\r\n\r\n" > $(@D)/g
	printf "\024\000\000\000GET /file $(LOOP_H)\r\nGET /stream?n=20&size=2000 $(LOOP_H)\r\n" > $(@D)/h
	printf "\001\000\000\000GET /items/x?limit=0 $(LOOP_H)Cookie: session=a\r\n\r\n\
	DELETE /api/items/5/?deny=1 $(LOOP_H)\r\n" > $(@D)/i
	printf "\001\000\000\000GET /go?to=/x%%0d%%0aX:%%20y $(LOOP_H)\r\n\
	GET /go?to=https://h/%%E2%%82%%AC $(LOOP_H)\r\n" > $(@D)/j
	@touch $@

fuzz:
	@tests/deps.sh fuzz
	$(MAKE) --no-print-directory $(foreach t,$(FUZZ_TARGETS),$(B)/fuzz/fuzz_$(t) $(B)/fuzz/corpus_$(t)/.seeded)
	set -e; for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  (cd $(B)/fuzz && ./fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	     -print_final_stats=1 corpus_$$t 2>&1 | tail -n 12); \
	done

# ---- benchmark ----
bench: $(B)/bench_app
	@tests/deps.sh bench
	tests/bench/run.sh $(B)/bench_app
	tests/bench/crypto.sh
	@$(MAKE) --no-print-directory bench-ws

# the WebSocket part alone (tests/bench/ws_run.sh, about 4 minutes): tests/bench/ws_bench_server.c
# against npm ws (pinned with its native bufferutil by tests/bench/ws/package-lock.json, npm ci into
# build/ws-bench-node) and Debian's libwebsockets: echo, a broadcast to 10,000 clients, idle memory
.PHONY: bench-ws
bench-ws: $(B)/ws_bench_server
	@tests/deps.sh bench
	@$(MAKE) --no-print-directory $(B)/ws-bench-node/node_modules/ws/package.json
	tests/bench/ws_run.sh $(B)/ws_bench_server $(B)/ws-bench-node/node_modules
$(B)/ws_bench_server: tests/bench/ws_bench_server.c webfw.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g -o $@ $< $(LIBS)
$(B)/ws-bench-node/node_modules/ws/package.json: tests/bench/ws/package.json tests/bench/ws/package-lock.json
	@mkdir -p $(B)/ws-bench-node
	cp tests/bench/ws/package.json tests/bench/ws/package-lock.json $(B)/ws-bench-node/
	cd $(B)/ws-bench-node && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# the app on the poll() backend, to set against epoll: tests/bench/run.sh build/poll/bench_app
$(B)/poll/bench_app: examples/bench_app.c webfw.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -DWF_USE_POLL -O2 -g -o $@ $< $(LIBS)

clean:
	rm -rf $(B)
