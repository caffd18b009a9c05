// qsem side by side with glibc sem_t, C++20 std::counting_semaphore and Qt 6's
// QSemaphore, in one run.  Each benchmark runs every implementation several
// times and prints the median with [min, max] and qsem's ratio to each peer
// (below 1.00x: qsem is faster or waits less).
//
//   qsem_bench           full run (about a minute)
//   qsem_bench --quick   short smoke run (ctest: bench_smoke)
//
// sem_t and std::counting_semaphore have no multi-token acquire: their
// acquire(n) is a loop of n single waits, which also holds tokens while it
// waits for the rest.  That is what a user of those would write, so it is
// what is measured, and the table says so.

#include <QSemaphore>

#include <semaphore.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "qsem.h"

namespace {

using Clock = std::chrono::steady_clock;

double
ns_since(Clock::time_point t0)
{
    return std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
}

void
check(int r, const char *what)
{
    if (r != 0) {
        std::fprintf(stderr, "qsem_bench: %s: %s\n", what, qsem_strerror(r));
        std::abort();
    }
}

// One adapter per implementation, used through templates so that every
// call inlines as it would in user code: no virtual dispatch in the loops.
struct Qsem {
    static constexpr const char *name = "qsem";
    qsem_t *s;
    explicit Qsem(int initial) : s(qsem_new(initial, QSEM_VALUE_MAX, 0)) { if (!s) std::abort(); }
    Qsem(int initial, unsigned f) : s(qsem_new(initial, QSEM_VALUE_MAX, f)) { if (!s) std::abort(); }
    ~Qsem() { qsem_unref(s); }
    void acquire(int n) { check(qsem_acquire(s, n), "qsem_acquire"); }
    void release(int n) { check(qsem_release(s, n), "qsem_release"); }
    bool acquire_within(int n, int ms) { return qsem_acquire_for(s, n, ms * INT64_C(1000000)) == 0; }
};

struct QsemFifo : Qsem {
    static constexpr const char *name = "qsem FIFO";
    explicit QsemFifo(int initial) : Qsem(initial, QSEM_FIFO) {}
};

struct SemT {
    static constexpr const char *name = "sem_t";
    sem_t s;
    explicit SemT(int initial) { sem_init(&s, 0, (unsigned)initial); }
    ~SemT() { sem_destroy(&s); }
    void acquire(int n)
    {
        for (int i = 0; i < n; i++)
            while (sem_wait(&s) != 0)
                ;
    }
    void release(int n)
    {
        for (int i = 0; i < n; i++)
            sem_post(&s);
    }
    bool acquire_within(int n, int) { acquire(n); return true; }
};

struct StdSem {
    static constexpr const char *name = "std::counting_semaphore";
    std::counting_semaphore<INT_MAX> s;
    explicit StdSem(int initial) : s(initial) {}
    void acquire(int n)
    {
        for (int i = 0; i < n; i++)
            s.acquire();
    }
    void release(int n) { s.release(n); }
    bool acquire_within(int n, int) { acquire(n); return true; }
};

struct QtSem {
    static constexpr const char *name = "QSemaphore";
    QSemaphore s;
    explicit QtSem(int initial) : s(initial) {}
    void acquire(int n) { s.acquire(n); }
    void release(int n) { s.release(n); }
    bool acquire_within(int n, int ms) { return s.tryAcquire(n, ms); }
};

struct Config {
    bool quick = false;
    int repeats = 5;
    long pairs = 5000000;       // uncontended
    long roundtrips = 100000;   // ping-pong
    long items = 400000;        // producer/consumer, in total
    long multi_ops = 200000;    // acquire(3)/release(3), in total
    int starve_rounds = 20;     // acquire(4) among churners
    int starve_cap_ms = 1000;   // a round that waits longer is cut off
};

Config cfg;

struct Stats {
    double median = 0, min = 0, max = 0;
    bool capped = false;        // some measurement hit its cut-off
};

Stats
summarise(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    Stats st;
    st.min = v.front();
    st.max = v.back();
    size_t n = v.size();
    st.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return st;
}

// ---- the benchmarks: each returns one measurement -------------------------

// acquire(1) + release(1) with nobody else around: ns per pair.
template <class S>
double
uncontended()
{
    S s(1);
    long n = cfg.pairs;
    auto t0 = Clock::now();
    for (long i = 0; i < n; i++) {
        s.acquire(1);
        s.release(1);
    }
    return ns_since(t0) / (double)n;
}

// Two threads hand one token back and forth over two semaphores: ns per
// round trip (two handoffs).
template <class S>
double
pingpong()
{
    S ping(0), pong(0);
    long n = cfg.roundtrips;
    std::thread t([&] {
        for (long i = 0; i < n; i++) {
            ping.acquire(1);
            pong.release(1);
        }
    });
    auto t0 = Clock::now();
    for (long i = 0; i < n; i++) {
        ping.release(1);
        pong.acquire(1);
    }
    double ns = ns_since(t0);
    t.join();
    return ns / (double)n;
}

// A bounded queue's two semaphores (free slots, filled slots), with k
// producers and k consumers: ns per item through the queue.
template <class S>
double
prodcons(int k)
{
    const int capacity = 64;
    S slots(capacity), filled(0);
    long per = cfg.items / k;
    std::vector<std::thread> ts;
    auto t0 = Clock::now();
    for (int i = 0; i < k; i++) {
        ts.emplace_back([&] {
            for (long j = 0; j < per; j++) {
                slots.acquire(1);
                filled.release(1);
            }
        });
        ts.emplace_back([&] {
            for (long j = 0; j < per; j++) {
                filled.acquire(1);
                slots.release(1);
            }
        });
    }
    for (auto &t : ts)
        t.join();
    return ns_since(t0) / (double)(per * k);
}

// 4 threads take and give back 3 tokens at a time out of 9.  With 9 tokens
// the loops of single waits cannot deadlock (4 threads holding 2 each leave
// one free), yet at most 3 threads hold their 3 at once: ns per
// acquire(3)+release(3), over all threads.
template <class S>
double
multi3()
{
    const int threads = 4;
    S s(9);
    long per = cfg.multi_ops / threads;
    std::vector<std::thread> ts;
    auto t0 = Clock::now();
    for (int i = 0; i < threads; i++)
        ts.emplace_back([&] {
            for (long j = 0; j < per; j++) {
                s.acquire(3);
                s.release(3);
            }
        });
    for (auto &t : ts)
        t.join();
    return ns_since(t0) / (double)(per * threads);
}

// The worst wait of an acquire(4) while 4 threads churn acquire(1)/release(1)
// on 4 tokens, in ns.  A round that has not been served within the cut-off
// counts as the cut-off and marks the result as a lower bound.
template <class S>
double
starve(bool *capped)
{
    const int churners = 4;
    S s(4);
    std::atomic<bool> stop{false};
    std::vector<std::thread> ts;
    for (int i = 0; i < churners; i++)
        ts.emplace_back([&] {
            while (!stop.load(std::memory_order_relaxed)) {
                s.acquire(1);
                // A little work while holding the token; the empty asm keeps
                // the compiler from deleting the loop.
                for (int k = 0; k < 500; k++)
                    asm volatile("");
                s.release(1);
            }
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    double worst = 0;
    for (int r = 0; r < cfg.starve_rounds; r++) {
        auto t0 = Clock::now();
        bool ok = s.acquire_within(4, cfg.starve_cap_ms);
        double ns = ns_since(t0);
        if (ok)
            s.release(4);
        else
            *capped = true;
        worst = std::max(worst, ns);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stop = true;
    for (auto &t : ts)
        t.join();
    return worst;
}

// ---- running and printing -------------------------------------------------

struct Row {
    std::string name;
    Stats st;
};

Stats
repeat(const std::function<double(bool *)> &fn)
{
    std::vector<double> v;
    bool capped = false;
    for (int i = 0; i < cfg.repeats; i++)
        v.push_back(fn(&capped));
    Stats st = summarise(v);
    st.capped = capped;
    return st;
}

void
print_block(const char *title, const char *unit, double scale, const std::vector<Row> &rows)
{
    std::printf("\n%s, %s: median of %d [min, max]\n", title, unit, cfg.repeats);
    double q = rows.front().st.median;
    for (const Row &r : rows) {
        const char *more = r.st.capped ? ">" : " ";
        std::printf("  %-24s %s%10.2f  [%10.2f, %10.2f]", r.name.c_str(), more,
                    r.st.median / scale, r.st.min / scale, r.st.max / scale);
        if (&r != &rows.front() && r.st.median > 0)
            std::printf("   qsem/%s %.2fx", r.name.c_str(), q / r.st.median);
        std::printf("\n");
    }
    std::fflush(stdout);
}

template <class S> double uncontended_m(bool *) { return uncontended<S>(); }
template <class S> double pingpong_m(bool *) { return pingpong<S>(); }
template <class S> double prodcons1_m(bool *) { return prodcons<S>(1); }
template <class S> double prodcons2_m(bool *) { return prodcons<S>(2); }
template <class S> double prodcons4_m(bool *) { return prodcons<S>(4); }
template <class S> double multi3_m(bool *) { return multi3<S>(); }
template <class S> double starve_m(bool *capped) { return starve<S>(capped); }

// Every implementation on one benchmark; qsem (default mode) first, as the
// base of the ratios.
template <template <class> class M>
void
all(const char *title, const char *unit, double scale = 1)
{
    std::vector<Row> rows;
    rows.push_back({ Qsem::name, repeat(M<Qsem>::f) });
    rows.push_back({ SemT::name, repeat(M<SemT>::f) });
    rows.push_back({ StdSem::name, repeat(M<StdSem>::f) });
    rows.push_back({ QtSem::name, repeat(M<QtSem>::f) });
    rows.push_back({ QsemFifo::name, repeat(M<QsemFifo>::f) });
    print_block(title, unit, scale, rows);
}

#define MEASURE(name, fn)                                                     \
    template <class S> struct name { static double f(bool *c) { return fn<S>(c); } }
MEASURE(Uncontended, uncontended_m);
MEASURE(Pingpong, pingpong_m);
MEASURE(Prodcons1, prodcons1_m);
MEASURE(Prodcons2, prodcons2_m);
MEASURE(Prodcons4, prodcons4_m);
MEASURE(Multi3, multi3_m);
MEASURE(Starve, starve_m);

} // namespace

int
main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            cfg.quick = true;
        } else {
            std::fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
            return 2;
        }
    }
    if (cfg.quick) {
        cfg.repeats = 3;
        cfg.pairs /= 50;
        cfg.roundtrips /= 50;
        cfg.items /= 50;
        cfg.multi_ops /= 50;
        cfg.starve_rounds = 5;
        cfg.starve_cap_ms = 200;
    }
    std::printf("qsem %s (%s back end) vs glibc sem_t, std::counting_semaphore, Qt %s "
                "QSemaphore; %u CPUs%s\n", QSEM_VERSION_STRING, qsem_backend(), qVersion(),
                std::thread::hardware_concurrency(), cfg.quick ? "; --quick run" : "");
    std::printf("sem_t and std::counting_semaphore: acquire(n) is n single waits\n");

    all<Uncontended>("uncontended acquire(1)+release(1)", "ns per pair");
    all<Pingpong>("two-thread ping-pong", "ns per round trip");
    all<Prodcons1>("producer/consumer, 1 thread per side", "ns per item");
    all<Prodcons2>("producer/consumer, 2 threads per side", "ns per item");
    all<Prodcons4>("producer/consumer, 4 threads per side", "ns per item");
    all<Multi3>("acquire(3)/release(3), 4 threads on 9 tokens", "ns per pair");
    char title[160];
    std::snprintf(title, sizeof title,
                  "worst acquire(4) wait among 4 acquire(1)/release(1) churners, %d rounds "
                  "(> : cut off at %d ms)", cfg.starve_rounds, cfg.starve_cap_ms);
    all<Starve>(title, "ms", 1e6);
    return 0;
}
