// SPDX-License-Identifier: MIT
// echo_server.cpp: a TCP echo server in C++ on fibers (async/io.hpp), one
// fiber per connection, all on one thread.
//
//   echo_server [port]             serves 127.0.0.1:port (0 or none: a free
//                                  port), prints it, runs until killed
//   echo_server --self-test [N]    serves a free port and runs N client
//                                  fibers (default 8) in the same runtime;
//                                  each sends a few messages and checks the
//                                  echoes; then the server shuts down and a
//                                  summary is printed (the same every run);
//                                  exits 1 if an echo was wrong
//
// Try it: `./echo_server 7000 &` then `nc 127.0.0.1 7000`.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "async/io.hpp"

namespace {

constexpr int messages_per_client = 3;

// Echoes what `s` receives until the peer ends its stream; returns the bytes
// echoed. A peer that resets the connection ends it too (ec form: expected).
std::size_t echo(async::tcp_stream& s) {
  std::byte buf[4096];
  std::size_t total = 0;
  for (;;) {
    std::error_code ec;
    const std::size_t n = s.read_some(buf, ec);
    if (ec || n == 0) break;
    s.write_all({buf, n}, ec);
    if (ec) break;
    total += n;
  }
  return total;
}  // the caller's stream closes when it goes out of scope

// The server: accepts until the listener is closed, one fiber per
// connection. With `handlers`, keeps them to join (self-test); else detaches.
void serve(async::tcp_listener& listener, std::size_t& bytes, std::vector<async::fiber<void>>* handlers) {
  for (;;) {
    std::error_code ec;
    async::tcp_stream s = listener.accept(ec);
    if (ec == async::status::eclosed) return;  // listener closed: shut down
    if (ec) {
      std::fprintf(stderr, "accept: %s\n", ec.message().c_str());
      async::this_fiber::sleep_for(std::chrono::milliseconds(10));  // e.g. EMFILE: back off
      continue;
    }
    auto f = async::spawn([&bytes, s = std::move(s)]() mutable { bytes += echo(s); });
    if (handlers != nullptr) {
      handlers->push_back(std::move(f));
    } else {
      f.detach();
    }
  }
}

// One client: sends its messages one at a time, checks each echo, then ends
// its stream and waits for the server's end. Returns the echoes that matched.
int client(std::uint16_t port, int id) {
  async::tcp_stream c = async::tcp_stream::connect("127.0.0.1", port);
  c.set_nodelay(true);
  int matched = 0;
  for (int j = 0; j < messages_per_client; ++j) {
    const std::string msg = "client " + std::to_string(id) + " message " + std::to_string(j) + "\n";
    c.write_all(msg);
    std::string back(msg.size(), '\0');
    c.read_exact(back);
    if (back == msg) ++matched;
  }
  c.shutdown_write();
  char rest;
  if (c.read_some({&rest, 1}) != 0) --matched;  // nothing more may come back
  return matched;
}

int self_test(int clients) {
  // Every fiber holds a stack at once: a client waits for its handler, so
  // handlers queued for a stack behind waiting clients would never run.
  const auto fibers_needed = static_cast<std::size_t>(2 * clients + 4);
  async::runtime rt(
      async::config{}.task_capacity(fibers_needed).fiber_capacity(fibers_needed).fiber_stack_size(32 * 1024));
  async::tcp_listener listener = async::tcp_listener::bind(rt, "127.0.0.1", 0);
  const std::uint16_t port = listener.local_endpoint().port;

  std::size_t bytes = 0;
  std::vector<async::fiber<void>> handlers;
  auto server = async::spawn(rt, [&] {
    serve(listener, bytes, &handlers);
    for (auto& h : handlers) h.join();
  });
  std::vector<async::fiber<int>> fibers;
  for (int i = 0; i < clients; ++i) fibers.push_back(async::spawn(rt, [port, i] { return client(port, i); }));

  int failed = 0;
  for (int i = 0; i < clients; ++i) {
    const int matched = fibers[static_cast<std::size_t>(i)].join();  // drives the runtime
    std::printf("client %d: %d/%d echoes match\n", i, matched, messages_per_client);
    if (matched != messages_per_client) ++failed;
  }
  listener.close();  // wakes the acceptor with eclosed
  server.join();
  std::printf("server: %d connections, %zu bytes echoed\n", static_cast<int>(handlers.size()), bytes);
  std::printf("self-test %s\n", failed == 0 ? "passed" : "FAILED");
  return failed == 0 ? 0 : 1;
}

int serve_forever(std::uint16_t port) {
  async::runtime rt;
  async::tcp_listener listener = async::tcp_listener::bind(rt, "127.0.0.1", port);
  std::printf("listening on %s\n", listener.local_endpoint().to_string().c_str());
  std::fflush(stdout);
  std::size_t bytes = 0;
  auto server = async::spawn(rt, [&] { serve(listener, bytes, nullptr); });
  server.join();
  return 0;
}

[[noreturn]] void usage(bool asked = false) {
  std::fprintf(asked ? stdout : stderr,
               "usage: echo_server [port] | echo_server --self-test [clients]  (TCP echo on 127.0.0.1)\n");
  std::exit(asked ? 0 : 2);
}

long number(const char* text, long max) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < 0 || v > max) usage();
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string_view first = argc > 1 ? argv[1] : "";
    if (first == "--help") usage(true);
    if (first == "--self-test") {
      if (argc > 3) usage();
      return self_test(argc > 2 ? static_cast<int>(number(argv[2], 1000)) : 8);
    }
    if (argc > 2) usage();
    return serve_forever(static_cast<std::uint16_t>(argc > 1 ? number(argv[1], 65535) : 0));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_server: %s\n", e.what());
    return 1;
  }
}
