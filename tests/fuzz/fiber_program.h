// SPDX-License-Identifier: MIT
// fiber_program.h: the small fiber programs of fiber_program_fuzz.cpp, as
// decoded from a fuzz input, and the trace a run of one leaves. Both the real
// runtime (fiber_program_fuzz.cpp) and the reference model
// (fiber_program_model.cpp) run the same decoded program and record the same
// kind of trace, so the two can be compared event by event.
//
// Input format (every byte string decodes to some program):
//   byte 0         channels = 1 + (b & 3), mutexes = 1 + ((b >> 2) & 1)
//   next 4 bytes   capacity of channel i = b % 3 (0: unbuffered)
//   then pairs     (opcode byte, argument byte); opcode % op_count. op::end
//                  closes the current fiber's program and starts the next one.
// Program 0 is the first fiber's; the k-th spawn op in the input (k = 1..15)
// spawns fiber k, which runs program k (empty if the input has none). So a
// fiber's number, and what cancel and await name, never depend on the order
// the fibers happen to run in.
#ifndef FIBER_PROGRAM_H
#define FIBER_PROGRAM_H

#include <async.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fiber_program {

constexpr int max_fibers = 16;
constexpr int max_ops = 64;  // per fiber: later ops of a program are dropped
constexpr int max_channels = 4;
constexpr int max_mutexes = 2;

enum class op : std::uint8_t {
  end,       // input only: ends the current program
  spawn,     // spawn the next fiber (its number is fixed by the decoder)
  yield,     //
  sleep,     // async_sleep_ms(1 + arg % 3) on the virtual clock
  send,      // async_channel_send on channel arg % channels
  recv,      // async_channel_recv
  try_send,  // async_channel_try_send
  try_recv,  // async_channel_try_recv
  select,    // async_select over two cases (select_case below)
  close,     // async_channel_close
  cancel,    // async_cancel(handle of fiber arg % 16); a zero handle if not spawned
  await,     // async_await(the same handle)
  lock,      // async_mutex_lock on mutex arg % mutexes
  unlock,    // async_mutex_unlock
  // The timed forms, with a deadline 1-3 ms ahead on the virtual clock:
  // object_of(arg) is the channel or mutex, timeout_ms_of(arg) the timeout.
  send_until,    // async_channel_send_until
  recv_until,    // async_channel_recv_until
  lock_until,    // async_mutex_lock_until
  select_until,  // async_select_until, the cases as select's, 2 ms
  count,
};

constexpr int select_timeout_ms = 2;
inline int object_of(std::uint8_t arg) { return arg & 0xf; }
inline int timeout_ms_of(std::uint8_t arg) { return arg >> 4; }

struct step {
  op code;
  std::uint8_t arg;  // resolved: channel, mutex, fiber, sleep ms or raw select bits
};

// One case of a select (or select_until) op, from its argument's bits: case 0 from bits 0-2,
// case 1 from bits 3-5 (channel in the low two, send when the third is set);
// bit 6 disables case 1 and bit 7 case 0 (both: a select with nothing enabled).
struct select_case {
  bool enabled;
  bool send;
  int channel;
};
select_case select_case_of(std::uint8_t arg, int which, int channels);

struct program {
  int channels = 1;
  int mutexes = 1;
  std::uint8_t capacity[max_channels] = {};
  int fibers = 1;  // 1 + the spawn ops
  std::vector<step> ops[max_fibers];
};

program decode(const std::uint8_t* data, std::size_t size);

// The message a fiber sends at step `pc`: unique in the program, never NULL.
inline std::uint64_t message_of(int fiber, int pc) {
  return (static_cast<std::uint64_t>(fiber + 1) << 8) | static_cast<std::uint64_t>(pc + 1);
}

enum class event_kind : std::uint8_t { start, step, end };

// One line of a trace: a fiber started, finished step `pc` (with the call's
// status, the select's chosen case and the message received, if any), or
// returned from its function.
struct event {
  event_kind kind;
  std::uint8_t fiber;
  std::uint8_t pc;
  std::uint8_t chosen;  // select: the chosen case, 0xff for none; else 0
  int status;
  std::uint64_t message;  // recv, try_recv, a select's recv case: what came; else 0
  bool operator==(const event&) const = default;
};

// What is left after a run: the status async_runtime_run returned, the
// messages still buffered in each channel (taken out in order by try_recv
// from outside the fibers, which also pulls parked senders' messages in),
// which mutexes are held, and which fibers never returned from their
// function (cancelled before they started, or still blocked).
struct outcome {
  int run_status = ASYNC_OK;
  std::vector<event> trace;
  std::vector<std::uint64_t> drained[max_channels];
  bool held[max_mutexes] = {};
  bool unfinished[max_fibers] = {};
  bool operator==(const outcome&) const = default;
};

std::string describe(const program& p);
std::string describe(const event& e, const program& p);

}  // namespace fiber_program

#endif  // FIBER_PROGRAM_H
