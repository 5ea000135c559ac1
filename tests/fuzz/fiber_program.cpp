// SPDX-License-Identifier: MIT
// fiber_program.cpp: decoding a fuzz input into a fiber program (the format
// is in fiber_program.h) and printing programs and trace events for a
// failure report.
#include "fiber_program.h"

#include <cstdio>

namespace fiber_program {

select_case select_case_of(std::uint8_t arg, int which, int channels) {
  const int bits = which == 0 ? arg & 7 : (arg >> 3) & 7;
  const bool disabled = which == 0 ? (arg & 0x80) != 0 : (arg & 0x40) != 0;
  return {!disabled, (bits & 4) != 0, (bits & 3) % channels};
}

namespace {

std::uint8_t timed(int object, std::uint8_t arg) {
  const int ms = 1 + (arg >> 4) % 3;
  return static_cast<std::uint8_t>(ms << 4 | object);
}

std::uint8_t resolve(op code, std::uint8_t arg, const program& p) {
  switch (code) {
    case op::sleep: return static_cast<std::uint8_t>(1 + arg % 3);
    case op::send:
    case op::recv:
    case op::try_send:
    case op::try_recv:
    case op::close: return static_cast<std::uint8_t>(arg % p.channels);
    case op::cancel:
    case op::await: return static_cast<std::uint8_t>(arg % max_fibers);
    case op::lock:
    case op::unlock: return static_cast<std::uint8_t>(arg % p.mutexes);
    case op::send_until:
    case op::recv_until: return timed(arg % p.channels, arg);
    case op::lock_until: return timed(arg % p.mutexes, arg);
    default: return arg;
  }
}

}  // namespace

program decode(const std::uint8_t* data, std::size_t size) {
  program p;
  std::size_t at = 0;
  if (at < size) {
    p.channels = 1 + (data[at] & 3);
    p.mutexes = 1 + ((data[at] >> 2) & 1);
    ++at;
  }
  for (int c = 0; c < max_channels && at < size; ++c) p.capacity[c] = static_cast<std::uint8_t>(data[at++] % 3);
  int current = 0;
  for (; at + 1 < size && current < max_fibers; at += 2) {
    op code = static_cast<op>(data[at] % static_cast<int>(op::count));
    if (code == op::end) {
      ++current;
      continue;
    }
    if (code == op::spawn) {
      if (p.fibers == max_fibers) code = op::yield;  // no fiber number left
    }
    if (p.ops[current].size() == max_ops) continue;
    std::uint8_t arg = resolve(code, data[at + 1], p);
    if (code == op::spawn) arg = static_cast<std::uint8_t>(p.fibers++);
    p.ops[current].push_back({code, arg});
  }
  return p;
}

namespace {

const char* const op_names[] = {"end",        "spawn",      "yield",      "sleep",       "send",
                                 "recv",       "try_send",   "try_recv",   "select",      "close",
                                 "cancel",     "await",      "lock",       "unlock",      "send_until",
                                 "recv_until", "lock_until", "select_until"};
static_assert(sizeof op_names / sizeof op_names[0] == static_cast<std::size_t>(op::count));

std::string describe(const step& s, const program& p) {
  char buf[96];
  if (s.code == op::select || s.code == op::select_until) {
    std::string text = s.code == op::select ? "select(" : "select_until(";
    for (int i = 0; i < 2; ++i) {
      const select_case c = select_case_of(s.arg, i, p.channels);
      std::snprintf(buf, sizeof buf, "%s%s", i ? ", " : "", c.enabled ? "" : "off");
      text += buf;
      if (c.enabled) {
        std::snprintf(buf, sizeof buf, "%s ch%d", c.send ? "send" : "recv", c.channel);
        text += buf;
      }
    }
    return text + (s.code == op::select ? ")" : ", " + std::to_string(select_timeout_ms) + "ms)");
  }
  const char* name = op_names[static_cast<int>(s.code)];
  if (s.code == op::send_until || s.code == op::recv_until || s.code == op::lock_until) {
    std::snprintf(buf, sizeof buf, "%s %d %dms", name, object_of(s.arg), timeout_ms_of(s.arg));
  } else {
    std::snprintf(buf, sizeof buf, "%s %d", name, s.arg);
  }
  return buf;
}

}  // namespace

std::string describe(const program& p) {
  std::string text;
  char buf[96];
  std::snprintf(buf, sizeof buf, "channels=%d mutexes=%d capacities=", p.channels, p.mutexes);
  text += buf;
  for (int c = 0; c < p.channels; ++c) text += std::to_string(p.capacity[c]) + (c + 1 < p.channels ? "," : "\n");
  for (int f = 0; f < p.fibers; ++f) {
    text += "fiber " + std::to_string(f) + ":";
    for (const step& s : p.ops[f]) text += " [" + describe(s, p) + "]";
    text += "\n";
  }
  return text;
}

std::string describe(const event& e, const program& p) {
  char buf[160];
  if (e.kind != event_kind::step) {
    std::snprintf(buf, sizeof buf, "f%d %s", e.fiber, e.kind == event_kind::start ? "start" : "end");
    return buf;
  }
  const std::string what = describe(p.ops[e.fiber][e.pc], p);
  std::snprintf(buf, sizeof buf, "f%d #%d %-22s -> %s chosen=%d msg=%#llx", e.fiber, e.pc, what.c_str(),
                async_status_name(static_cast<async_status_t>(e.status)), e.chosen == 0xff ? -1 : e.chosen,
                static_cast<unsigned long long>(e.message));
  return buf;
}

}  // namespace fiber_program
