// SPDX-License-Identifier: MIT
// cpp_pipeline_channels.cpp: three C++ fibers connected by async::channel<T>
// (async.hpp). A reader splits text into words, a filter turns each word it
// keeps into a move-only record, a writer prints them. Each stage closes its
// output when its input is drained, so the shutdown ripples down the
// pipeline and every range-for ends. The scheduler is deterministic, so the
// output is too.
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>

#include "async.hpp"

namespace {

struct record {
  int index;
  std::string word;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {  // no arguments; --help says what it does
    const bool help = std::strcmp(argv[1], "--help") == 0;
    std::fprintf(help ? stdout : stderr,
                 "usage: %s  (no arguments) three C++ fibers joined by async::channel<T>\n",
                 argv[0]);
    return help ? 0 : 2;
  }
  try {
    async::runtime rt(async::config{}.task_capacity(8).fiber_stack_size(64 * 1024));
    async::channel<std::string> words(rt, 2);                // reader -> filter
    async::channel<std::unique_ptr<record>> records(rt, 0);  // filter -> writer (rendezvous)

    auto reader = async::spawn(rt, [&] {
      std::istringstream in("the quick brown fox jumps over the lazy dog");
      int n = 0;
      for (std::string w; in >> w; ++n) {
        std::printf("reader: %s\n", w.c_str());
        words.send(std::move(w));
      }
      words.close();
      return n;
    });

    auto filter = async::spawn(rt, [&] {
      int index = 0;
      int kept = 0;
      for (std::string w : words) {
        ++index;
        if (w.size() <= 3) continue;  // drop the short words
        for (char& c : w) c = static_cast<char>(c - 'a' + 'A');
        records.send(std::make_unique<record>(record{index, std::move(w)}));
        ++kept;
      }
      records.close();
      return kept;
    });

    auto writer = async::spawn(rt, [&] {
      std::size_t letters = 0;
      for (std::unique_ptr<record> r : records) {
        std::printf("writer: #%d %s\n", r->index, r->word.c_str());
        letters += r->word.size();
      }
      return letters;
    });

    if (rt.run() != async::status::ok) return 1;
    const int read = reader.join();
    const int kept = filter.join();
    const std::size_t letters = writer.join();
    std::printf("read %d words, kept %d, %zu letters\n", read, kept, letters);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cpp_pipeline_channels: %s\n", e.what());
    return 1;
  }
}
