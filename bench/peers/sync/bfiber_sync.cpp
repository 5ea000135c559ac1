// SPDX-License-Identifier: MIT
// bfiber_sync.cpp: Boost.Fiber in the shapes of bench/sync_bench.c, on one
// thread (the default round_robin scheduler). Run it pinned (taskset -c 0).
//
//   bfiber_sync [yield_pair|mutex_uncontended|mutex_handoff|cond_pingpong ...]   (none: all)
//
//   yield_pair         two fibers, n this_fiber::yield() each; ns per yield (total / 2n)
//   mutex_uncontended  the main fiber alone: lock; ++x; unlock (boost::fibers::mutex);
//                      ns per lock+unlock
//   mutex_handoff      two fibers, each n times: lock; ++x; this_fiber::yield(); unlock.
//                      ns per operation (one lock+yield+unlock by one fiber) = total / 2n;
//                      plus mutex_handoff.handoffs_per_op, the share of operations that
//                      found the mutex last held by the other fiber
//   cond_pingpong      two fibers, one mutex, one condition_variable, a turn flag; each:
//                      lock; n times { while (turn != me) wait; turn = other; notify_one; }
//                      unlock. ns per turn (total / 2n)
//
// Output: label<TAB>value<TAB>unit, one line per timed repetition after one
// warm-up at n/10; MICRO_REPS repetitions (default 7), MICRO_SCALE multiplies n.
#include <boost/fiber/all.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

namespace bf = boost::fibers;

namespace {

std::uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::uint64_t(ts.tv_sec) * 1000000000u + std::uint64_t(ts.tv_nsec);
}

int reps() {
    const char* s = std::getenv("MICRO_REPS");
    const int r = s ? std::atoi(s) : 0;
    return r > 0 ? r : 7;
}

std::uint64_t iters(std::uint64_t base) {
    const char* s = std::getenv("MICRO_SCALE");
    double f = s ? std::atof(s) : 1.0;
    if (f <= 0) f = 1.0;
    const auto n = std::uint64_t(double(base) * f);
    return n ? n : 1;
}

void emit(const char* label, double value, const char* unit) {
    std::printf(std::strcmp(unit, "ratio") ? "%s\t%.3f\t%s\n" : "%s\t%.6f\t%s\n", label, value, unit);
    std::fflush(stdout);
}

// What the lock protects.
struct guarded {
    std::uint64_t x = 0;
    int last = 0;  // the fiber that held it last: 0 none, 1 or 2
    std::uint64_t handoffs = 0;

    void note(int me) {
        if (last != me) {
            if (last != 0) ++handoffs;
            last = me;
        }
        ++x;
    }
};

// Warm-up at n/10, then reps() timed runs; body(n) returns the hand-off count
// (or -1 when the shape has none) and does n * ops_per_n operations.
template <class Body>
void time_it(const char* label, std::uint64_t n, double ops_per_n, Body&& body) {
    body(n / 10 ? n / 10 : 1);
    for (int r = 0; r < reps(); ++r) {
        const std::uint64_t t0 = now_ns();
        const double handoffs = body(n);
        const std::uint64_t t1 = now_ns();
        const double ops = double(n) * ops_per_n;
        emit(label, double(t1 - t0) / ops, "ns/op");
        if (handoffs >= 0) {
            char l[96];
            std::snprintf(l, sizeof l, "%s.handoffs_per_op", label);
            emit(l, handoffs / ops, "ratio");
        }
    }
}

void check_count(std::uint64_t got, std::uint64_t want, const char* shape) {
    if (got != want) {
        std::fprintf(stderr, "bfiber_sync: %s: counter %llu, want %llu\n", shape, (unsigned long long)got,
                     (unsigned long long)want);
        std::exit(1);
    }
}

double yield_pair(std::uint64_t n) {
    auto body = [n] {
        for (std::uint64_t i = 0; i < n; ++i) boost::this_fiber::yield();
    };
    bf::fiber a(body), b(body);
    a.join();
    b.join();
    return -1;
}

double mutex_uncontended(std::uint64_t n) {
    bf::mutex m;
    guarded g;
    for (std::uint64_t i = 0; i < n; ++i) {
        m.lock();
        ++g.x;
        m.unlock();
    }
    check_count(g.x, n, "mutex_uncontended");
    return -1;
}

double mutex_handoff(std::uint64_t n) {
    bf::mutex m;
    guarded g;
    auto body = [&m, &g, n](int me) {
        for (std::uint64_t i = 0; i < n; ++i) {
            m.lock();
            g.note(me);
            boost::this_fiber::yield();
            m.unlock();
        }
    };
    bf::fiber a(body, 1), b(body, 2);
    a.join();
    b.join();
    check_count(g.x, 2 * n, "mutex_handoff");
    return double(g.handoffs);
}

double cond_pingpong(std::uint64_t n) {
    bf::mutex m;
    bf::condition_variable cv;
    int turn = 1;
    guarded g;
    auto body = [&, n](int me) {
        std::unique_lock<bf::mutex> lk(m);
        for (std::uint64_t i = 0; i < n; ++i) {
            while (turn != me) cv.wait(lk);
            turn = 3 - me;
            ++g.x;
            cv.notify_one();
        }
    };
    bf::fiber a(body, 1), b(body, 2);
    a.join();
    b.join();
    check_count(g.x, 2 * n, "cond_pingpong");
    return -1;
}

}  // namespace

int main(int argc, char** argv) {
    auto want = [argc, argv](const char* k) {
        if (argc < 2) return true;
        for (int i = 1; i < argc; ++i)
            if (!std::strcmp(argv[i], k)) return true;
        return false;
    };
    if (want("yield_pair")) time_it("bfiber.yield_pair", iters(2000000), 2, yield_pair);
    if (want("mutex_uncontended")) time_it("bfiber.mutex_uncontended", iters(5000000), 1, mutex_uncontended);
    if (want("mutex_handoff")) time_it("bfiber.mutex_handoff", iters(1000000), 2, mutex_handoff);
    if (want("cond_pingpong")) time_it("bfiber.cond_pingpong", iters(1000000), 2, cond_pingpong);
    return 0;
}
