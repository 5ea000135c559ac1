/* SPDX-License-Identifier: MIT */
/* sync_bank.c: fibers on two threads move money between accounts, each
 * account guarded by its own async_mutex_t.
 *
 * A group of two runtimes (one thread each) runs the clerks: fibers that
 * each make a fixed number of transfers between pseudo-random accounts. A
 * transfer locks both accounts, always the one at the lower address first:
 * with one global lock order no two clerks can each hold the lock the other
 * waits for, so there is no deadlock. A clerk may suspend while it holds
 * them (it yields now and then), and the other clerks of its thread keep
 * running meanwhile. A counting semaphore stands for the bank's tellers:
 * at most `tellers` transfers are in progress at once, across both threads.
 * Each clerk marks a wait group when it is done; an auditor fiber waits on
 * it and then adds up the balances, holding every account's lock.
 *
 * The threads interleave differently on every run, so which transfers
 * succeed and the final balances vary; the program prints only what does
 * not: the number of accounts and transfers, and the total before and
 * after, which must be equal. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "async.h"

enum {
    accounts = 8,
    opening_balance = 1000,
    clerks = 16,
    transfers_per_clerk = 1000,
    tellers = 4,
};

typedef struct account {
    async_mutex_t lock;
    long balance; /* guarded by lock */
} account;

static account bank[accounts];
static async_sem_t teller_desks;  /* units: free tellers */
static async_waitgroup_t working; /* clerks still making transfers */

typedef struct clerk {
    uint32_t seed;     /* its own pseudo-random sequence */
    long transfers;    /* made (amounts may be 0 when the source is empty) */
    async_status_t st; /* ASYNC_OK, or the first failure */
} clerk;

static clerk staff[clerks];

typedef struct audit {
    long total;
    async_status_t st;
} audit;

/* xorshift32: the same sequence for the same seed, on any platform. */
static uint32_t next_random(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Moves up to `amount` (what `from` holds at most) from `from` to `to`,
 * holding both locks, taken in address order. */
static async_status_t transfer(account *from, account *to, long amount, int linger)
{
    account *first = from < to ? from : to;
    account *second = from < to ? to : from;
    async_status_t st = async_mutex_lock(&first->lock);
    if (st != ASYNC_OK) return st;
    st = async_mutex_lock(&second->lock);
    if (st == ASYNC_OK) {
        if (amount > from->balance) amount = from->balance;
        from->balance -= amount;
        if (linger) st = async_yield(); /* suspend holding both: others run, none deadlocks */
        to->balance += amount;
        async_mutex_unlock(&second->lock);
    }
    async_mutex_unlock(&first->lock);
    return st;
}

static void clerk_main(void *user)
{
    clerk *c = user;
    for (int i = 0; i < transfers_per_clerk && c->st == ASYNC_OK; ++i) {
        uint32_t r = next_random(&c->seed);
        int from = (int)(r % accounts);
        int to = (int)((from + 1 + (r >> 8) % (accounts - 1)) % accounts); /* never from */
        long amount = (long)((r >> 16) % 100) + 1;
        c->st = async_sem_acquire(&teller_desks);
        if (c->st != ASYNC_OK) break;
        c->st = transfer(&bank[from], &bank[to], amount, i % 8 == 0);
        async_sem_release(&teller_desks);
        if (c->st == ASYNC_OK) ++c->transfers;
    }
    async_waitgroup_done(&working);
}

/* Waits for every clerk, then adds up the balances holding every lock (in
 * address order, as the clerks take them). */
static void auditor(void *user)
{
    audit *a = user;
    a->st = async_waitgroup_wait(&working);
    if (a->st != ASYNC_OK) return;
    for (int i = 0; i < accounts; ++i) {
        a->st = async_mutex_lock(&bank[i].lock);
        if (a->st != ASYNC_OK) return; /* cannot happen: the bank is quiet */
    }
    for (int i = 0; i < accounts; ++i) a->total += bank[i].balance;
    for (int i = accounts - 1; i >= 0; --i) async_mutex_unlock(&bank[i].lock);
}

static int fail(const char *what, async_status_t st)
{
    fprintf(stderr, "sync_bank: %s: %s\n", what, async_strerror(st));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc > 1) { /* no arguments; --help says what it does */
        int help = strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: %s  (no arguments) fibers on two threads move money between mutex-guarded accounts\n",
                argv[0]);
        return help ? 0 : 2;
    }
    async_status_t st;
    long before = 0;
    for (int i = 0; i < accounts; ++i) {
        if ((st = async_mutex_init(&bank[i].lock)) != ASYNC_OK) return fail("async_mutex_init", st);
        bank[i].balance = opening_balance;
        before += bank[i].balance;
    }
    if ((st = async_sem_init(&teller_desks, tellers)) != ASYNC_OK) return fail("async_sem_init", st);
    if ((st = async_waitgroup_init(&working)) != ASYNC_OK) return fail("async_waitgroup_init", st);
    if ((st = async_waitgroup_add(&working, clerks)) != ASYNC_OK) return fail("async_waitgroup_add", st);

    async_group_t group;
    if ((st = async_group_init(&group, 2, NULL)) != ASYNC_OK) return fail("async_group_init", st);
    audit result = {0, ASYNC_OK};
    async_fiber_handle_t h = async_group_spawn(&group, auditor, &result);
    if (h.status != ASYNC_OK) return fail("async_group_spawn", h.status);
    for (int i = 0; i < clerks; ++i) {
        staff[i].seed = 2463534242u + (uint32_t)i * 7919u;
        h = async_group_spawn(&group, clerk_main, &staff[i]);
        if (h.status != ASYNC_OK) return fail("async_group_spawn", h.status);
    }
    if ((st = async_group_wait(&group)) != ASYNC_OK) return fail("async_group_wait", st);
    async_group_shutdown(&group);

    long made = 0;
    for (int i = 0; i < clerks; ++i) {
        if (staff[i].st != ASYNC_OK) return fail("a clerk", staff[i].st);
        made += staff[i].transfers;
    }
    if (result.st != ASYNC_OK) return fail("the auditor", result.st);
    long after = 0;
    int overdrawn = 0;
    for (int i = 0; i < accounts; ++i) {
        after += bank[i].balance;
        overdrawn += bank[i].balance < 0;
        async_mutex_destroy(&bank[i].lock);
    }
    async_sem_destroy(&teller_desks);
    async_waitgroup_destroy(&working);

    printf("accounts: %d, clerks: %d on 2 threads, tellers: %d\n", accounts, clerks, tellers);
    printf("transfers made: %ld\n", made);
    printf("total before: %ld\n", before);
    printf("total seen by the auditor: %ld\n", result.total);
    printf("total after: %ld\n", after);
    int ok = after == before && result.total == before && overdrawn == 0 && made == (long)clerks * transfers_per_clerk;
    printf("%s\n", ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
