// SPDX-License-Identifier: MIT
// qsem side by side with glibc sem_t, C++20 std::counting_semaphore and Qt 6's
// QSemaphore, in one run.  Each benchmark runs in interleaved rounds (every
// implementation once per round) and prints the median with [min, max] over
// the rounds, and qsem's ratio to each peer taken within each round (below
// 1.00x: qsem is faster or waits less).
//
//   qsem_bench                    full run (a few minutes on 2 cores)
//   qsem_bench --quick            short smoke run (ctest: bench_smoke)
//   qsem_bench --repeats N        rounds per benchmark (default 7)
//   qsem_bench --json FILE        also write every sample, for bench/report.py
//   qsem_bench --only ID          one benchmark: uncontended, pingpong, ring,
//                                 prodcons, packed, multi3 or starve
//
// sem_t and std::counting_semaphore have no multi-token acquire: their
// acquire(n) is a loop of n single waits, which also holds tokens while it
// waits for the rest.  That is what a user of those would write, so it is
// what is measured, and the table says so.

#include <QSemaphore>

#include <semaphore.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
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

int64_t
now_ns()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
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
// Each peer's object sits on a cache line of its own, as each qsem_t does:
// the benchmarks that use two semaphores would otherwise measure how two
// 4-byte std::counting_semaphore counters declared side by side share one
// line, a layout accident of the benchmark rather than a property of the
// semaphore (docs/performance.md gives the figures both ways).
constexpr std::size_t kLine = 64;
struct Qsem {
    static constexpr const char *name = "qsem";
    qsem_t *s;
    explicit Qsem(int initial) : s(qsem_new(initial, QSEM_VALUE_MAX, 0)) { if (!s) std::abort(); }
    Qsem(int initial, unsigned f) : s(qsem_new(initial, QSEM_VALUE_MAX, f)) { if (!s) std::abort(); }
    ~Qsem() { qsem_unref(s); }
    void acquire(int n) { check(qsem_acquire(s, n), "qsem_acquire"); }
    void release(int n) { check(qsem_release(s, n), "qsem_release"); }
    bool acquire_within(int n, int ms) { return qsem_acquire_for(s, n, ms * INT64_C(1000000)) == 0; }
    bool wait_ns(int64_t ns) { return qsem_acquire_for(s, 1, ns) == 0; }
};

struct QsemFifo : Qsem {
    static constexpr const char *name = "qsem FIFO";
    explicit QsemFifo(int initial) : Qsem(initial, QSEM_FIFO) {}
};

struct alignas(kLine) SemT {
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
    bool wait_ns(int64_t ns)
    {
        timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t end = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + ns;
        ts.tv_sec = (time_t)(end / 1000000000);
        ts.tv_nsec = (long)(end % 1000000000);
        int r;
        while ((r = sem_clockwait(&s, CLOCK_MONOTONIC, &ts)) != 0 && errno == EINTR)
            ;
        return r == 0;
    }
};

// Without alignment: two of these declared together share a cache line.
// Used as such only by the "packed" benchmark, which shows what that layout
// is worth (docs/performance.md); everywhere else through StdSem below.
struct StdSemPacked {
    static constexpr const char *name = "std::counting_semaphore, packed";
    std::counting_semaphore<INT_MAX> s;
    explicit StdSemPacked(int initial) : s(initial) {}
    void acquire(int n)
    {
        for (int i = 0; i < n; i++)
            s.acquire();
    }
    void release(int n) { s.release(n); }
    bool acquire_within(int n, int) { acquire(n); return true; }
    bool wait_ns(int64_t ns) { return s.try_acquire_for(std::chrono::nanoseconds(ns)); }
};

struct alignas(kLine) StdSem : StdSemPacked {
    static constexpr const char *name = "std::counting_semaphore";
    using StdSemPacked::StdSemPacked;
};
static_assert(alignof(StdSem) == kLine && 2 * sizeof(StdSemPacked) <= kLine,
              "the packed benchmark compares one line per counter with one for both");

struct alignas(kLine) QtSem {
    static constexpr const char *name = "QSemaphore";
    QSemaphore s;
    explicit QtSem(int initial) : s(initial) {}
    void acquire(int n) { s.acquire(n); }
    void release(int n) { s.release(n); }
    bool acquire_within(int n, int ms) { return s.tryAcquire(n, ms); }
    // Qt takes whole milliseconds.
    bool wait_ns(int64_t ns) { return s.tryAcquire(1, (int)((ns + 999999) / 1000000)); }
};

// Where starve() counts its slow rounds: the order of impls() below.
template <class S> constexpr int starve_slot();
template <> constexpr int starve_slot<Qsem>() { return 0; }
template <> constexpr int starve_slot<SemT>() { return 1; }
template <> constexpr int starve_slot<StdSem>() { return 2; }
template <> constexpr int starve_slot<QtSem>() { return 3; }
template <> constexpr int starve_slot<QsemFifo>() { return 4; }

struct Config {
    bool quick = false;
    int repeats = 7;
    long pairs = 2000000;       // uncontended
    long roundtrips = 40000;    // ping-pong
    long ring_passes = 40000;   // token passes around a ring of threads
    long items = 200000;        // producer/consumer, in total
    long multi_ops = 100000;    // acquire(3)/release(3), in total
    int starve_rounds = 20;     // acquire(4) among churners
    int starve_cap_ms = 1000;   // a round that waits longer is cut off
    int load_waits = 40;        // timed waits and wake-ups per measurement, under load
    long load_roundtrips = 500; // ping-pong under load
    const char *json = nullptr; // also write every sample here
    const char *only = nullptr; // run just the benchmarks with this id
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
pingpong(long n)
{
    S ping(0), pong(0);
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

// k threads in a ring, each waiting on its own semaphore and passing the
// token to the next: ns per handoff.  With more threads than cores every
// handoff wakes a thread that is asleep, which is the latency a waiter
// sees; k = 2 is the ping-pong above counted per handoff.
template <class S>
double
ring(int k)
{
    std::vector<std::unique_ptr<S>> sems;
    for (int i = 0; i < k; i++)
        sems.push_back(std::make_unique<S>(0));
    long per = cfg.ring_passes / k;
    std::vector<std::thread> ts;
    for (int i = 0; i < k; i++)
        ts.emplace_back([&, i] {
            S &mine = *sems[i], &next = *sems[(i + 1) % k];
            for (long j = 0; j < per; j++) {
                mine.acquire(1);
                next.release(1);
            }
        });
    auto t0 = Clock::now();
    sems[0]->release(1);
    for (auto &t : ts)
        t.join();
    double ns = ns_since(t0);
    sems[0]->acquire(1);   // the token that went round ends back at 0
    return ns / (double)(per * k);
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

// ---- under CPU-bound load ------------------------------------------------
//
// The same handoffs, and timed waits, while kBusy threads spin without ever
// blocking: more runnable threads than cores, as on a loaded server.  A
// waiter that yields the CPU there may not get it back for a whole time
// slice, and one that sleeps is woken with the scheduler's preference for
// sleepers; these rows show which world each semaphore lives in.

constexpr int kBusy = 4;

// kBusy spinning threads for as long as it lives.
class BusyLoad {
public:
    BusyLoad()
    {
        for (int i = 0; i < kBusy; i++)
            ts_.emplace_back([this] {
                while (!stop_.load(std::memory_order_relaxed))
                    ;
            });
    }
    ~BusyLoad()
    {
        stop_.store(true);
        for (auto &t : ts_)
            t.join();
    }

private:
    std::atomic<bool> stop_{ false };
    std::vector<std::thread> ts_;
};

double
median_of(std::vector<double> v)
{
    return summarise(std::move(v)).median;
}

// Ping-pong (as above) beside kBusy spinning threads: ns per round trip.
// Fewer round trips: a semaphore that spins or yields before it sleeps
// (std::counting_semaphore) takes milliseconds for each one here.
template <class S>
double
pingpong_load()
{
    BusyLoad load;
    return pingpong<S>(cfg.load_roundtrips);
}

// How late a 2 ms timed wait on an empty semaphore returns, beside kBusy
// spinning threads: us, median of the waits of one measurement.
template <class S>
double
timedwait_load()
{
    BusyLoad load;
    S s(0);
    const int64_t timeout = 2000000;
    std::vector<double> late;
    for (int i = 0; i < cfg.load_waits; i++) {
        auto t0 = Clock::now();
        if (s.wait_ns(timeout))
            std::abort();   // nobody releases
        late.push_back((ns_since(t0) - (double)timeout) / 1e3);
    }
    return median_of(late);
}

// From a release to the return of the acquire it serves, the waiter asleep
// (the release comes 1 ms after it started waiting), beside kBusy spinning
// threads: us, median of the handoffs of one measurement.
template <class S>
double
wake_load()
{
    BusyLoad load;
    S go(0), done(0);
    std::atomic<int64_t> released{ 0 };
    std::vector<double> lat;
    std::thread t([&] {
        for (int i = 0; i < cfg.load_waits; i++) {
            go.acquire(1);
            lat.push_back((double)(now_ns() - released.load()) / 1e3);
            done.release(1);
        }
    });
    for (int i = 0; i < cfg.load_waits; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        released.store(now_ns());
        go.release(1);
        done.acquire(1);
    }
    t.join();
    return median_of(lat);
}

// Why a round of starve() waited long: on a machine with fewer cores than
// threads, a churner can be preempted while it holds a token, and then no
// semaphore can serve acquire(4) until the scheduler runs that thread again.
// So each round also records the longest time any churner held its token
// (the work inside takes about a microsecond when the thread keeps its core).
struct StarveRounds {
    int slow = 0;               // rounds that waited more than 2 ms
    int slow_preempted = 0;     // ... in which a token was held more than 1 ms
    int rounds = 0;
};

StarveRounds starve_rounds_of[8];   // by implementation, see starve_slot()

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
    std::atomic<int64_t> longest_hold{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < churners; i++)
        ts.emplace_back([&] {
            while (!stop.load(std::memory_order_relaxed)) {
                s.acquire(1);
                int64_t t0 = qsem_now_ns();
                // A little work while holding the token; the empty asm keeps
                // the compiler from deleting the loop.
                for (int k = 0; k < 500; k++)
                    asm volatile("");
                int64_t held = qsem_now_ns() - t0;
                s.release(1);
                int64_t m = longest_hold.load(std::memory_order_relaxed);
                while (held > m && !longest_hold.compare_exchange_weak(m, held))
                    ;
            }
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    StarveRounds &why = starve_rounds_of[starve_slot<S>()];
    double worst = 0;
    for (int r = 0; r < cfg.starve_rounds; r++) {
        longest_hold.store(0);
        auto t0 = Clock::now();
        bool ok = s.acquire_within(4, cfg.starve_cap_ms);
        double ns = ns_since(t0);
        if (ok)
            s.release(4);
        else
            *capped = true;
        worst = std::max(worst, ns);
        why.rounds++;
        if (ns > 2e6) {
            why.slow++;
            if (longest_hold.load() > 1000000)
                why.slow_preempted++;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stop = true;
    for (auto &t : ts)
        t.join();
    return worst;
}

// ---- running and printing -------------------------------------------------

using Measure = std::function<double(bool *)>;

struct Impl {
    std::string name;
    Measure fn;
    std::vector<double> samples;
    bool capped = false;
};

// The implementations of one benchmark in a fixed order, qsem (default mode)
// first: it is the base of every ratio.
template <template <class> class M>
std::vector<Impl>
impls(int param)
{
    std::vector<Impl> v;
    v.push_back({ Qsem::name, [param](bool *c) { return M<Qsem>::f(param, c); }, {}, false });
    v.push_back({ SemT::name, [param](bool *c) { return M<SemT>::f(param, c); }, {}, false });
    v.push_back({ StdSem::name, [param](bool *c) { return M<StdSem>::f(param, c); }, {}, false });
    v.push_back({ QtSem::name, [param](bool *c) { return M<QtSem>::f(param, c); }, {}, false });
    v.push_back({ QsemFifo::name, [param](bool *c) { return M<QsemFifo>::f(param, c); }, {}, false });
    return v;
}

// qsem, then std::counting_semaphore with each counter on its own line (as
// in every other benchmark) and with both in one line.
std::vector<Impl>
packed_impls(int k)
{
    std::vector<Impl> v;
    v.push_back({ Qsem::name, [k](bool *) { return prodcons<Qsem>(k); }, {}, false });
    v.push_back({ StdSem::name, [k](bool *) { return prodcons<StdSem>(k); }, {}, false });
    v.push_back({ StdSemPacked::name, [k](bool *) { return prodcons<StdSemPacked>(k); }, {}, false });
    return v;
}

std::string
json_escape(const std::string &in)
{
    std::string out;
    for (char c : in) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out;
}

FILE *json_out = nullptr;
bool json_first = true;

// Rounds are interleaved (round r measures every implementation once,
// starting one further along each time) so that a burst of load from
// elsewhere on the machine hits all of them alike, and a ratio is taken
// between two measurements of the same round.
void
run(const char *id, const char *title, const char *unit, double scale, int param,
    std::vector<Impl> v)
{
    if (cfg.only && std::strcmp(cfg.only, id) != 0)
        return;
    for (int r = 0; r < cfg.repeats; r++)
        for (size_t k = 0; k < v.size(); k++) {
            Impl &im = v[(k + (size_t)r) % v.size()];
            bool capped = false;
            im.samples.push_back(im.fn(&capped));
            im.capped = im.capped || capped;
        }

    std::printf("\n%s, %s: median of %d [min, max]; ratio qsem/peer per round: median [min, max]\n",
                title, unit, cfg.repeats);
    const Impl &q = v.front();
    for (const Impl &im : v) {
        Stats st = summarise(im.samples);
        std::printf("  %-32s %s%10.2f  [%10.2f, %10.2f]", im.name.c_str(), im.capped ? ">" : " ",
                    st.median / scale, st.min / scale, st.max / scale);
        if (&im != &q) {
            std::vector<double> ratios;
            for (size_t r = 0; r < im.samples.size(); r++)
                if (im.samples[r] > 0)
                    ratios.push_back(q.samples[r] / im.samples[r]);
            if (!ratios.empty()) {
                Stats rs = summarise(ratios);
                std::printf("   %.2fx [%.2f, %.2f]", rs.median, rs.min, rs.max);
            }
        }
        std::printf("\n");
    }
    bool why = std::strcmp(id, "starve") == 0;
    if (why) {
        std::printf("  rounds that waited > 2 ms, and of those, rounds in which a churner held "
                    "its token > 1 ms (preempted while holding it):\n");
        for (size_t k = 0; k < v.size(); k++)
            std::printf("  %-24s %4d of %4d, %4d preempted\n", v[k].name.c_str(),
                        starve_rounds_of[k].slow, starve_rounds_of[k].rounds,
                        starve_rounds_of[k].slow_preempted);
    }
    std::fflush(stdout);

    if (json_out) {
        std::fprintf(json_out, "%s\n  {\"id\": \"%s\", \"title\": \"%s\", \"unit\": \"%s\", "
                     "\"scale\": %g, \"param\": %d, \"impls\": [", json_first ? "" : ",",
                     id, json_escape(title).c_str(), unit, scale, param);
        json_first = false;
        for (size_t k = 0; k < v.size(); k++) {
            std::fprintf(json_out, "%s\n    {\"name\": \"%s\", \"capped\": %s, ",
                         k ? "," : "", json_escape(v[k].name).c_str(),
                         v[k].capped ? "true" : "false");
            if (why)
                std::fprintf(json_out, "\"rounds\": %d, \"slow_rounds\": %d, "
                             "\"slow_preempted\": %d, ", starve_rounds_of[k].rounds,
                             starve_rounds_of[k].slow, starve_rounds_of[k].slow_preempted);
            std::fprintf(json_out, "\"samples\": [");
            for (size_t r = 0; r < v[k].samples.size(); r++)
                std::fprintf(json_out, "%s%.3f", r ? ", " : "", v[k].samples[r]);
            std::fprintf(json_out, "]}");
        }
        std::fprintf(json_out, "]}");
    }
}

#define MEASURE(name, call)                                                   \
    template <class S> struct name {                                          \
        static double f(int param, bool *capped)                              \
        {                                                                     \
            (void)param;                                                      \
            (void)capped;                                                     \
            return call;                                                      \
        }                                                                     \
    }
MEASURE(Uncontended, uncontended<S>());
MEASURE(Pingpong, pingpong<S>(cfg.roundtrips));
MEASURE(Ring, ring<S>(param));
MEASURE(Prodcons, prodcons<S>(param));
MEASURE(Multi3, multi3<S>());
MEASURE(Starve, starve<S>(capped));
MEASURE(PingpongLoad, pingpong_load<S>());
MEASURE(TimedwaitLoad, timedwait_load<S>());
MEASURE(WakeLoad, wake_load<S>());

} // namespace

int
main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            cfg.quick = true;
        } else if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            cfg.json = argv[++i];
        } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            cfg.only = argv[++i];
        } else if (std::strcmp(argv[i], "--repeats") == 0 && i + 1 < argc &&
                   std::atoi(argv[i + 1]) > 0) {
            cfg.repeats = std::atoi(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: %s [--quick] [--repeats N] [--json FILE] [--only ID]\n", argv[0]);
            return 2;
        }
    }
    if (cfg.quick) {
        cfg.repeats = std::min(cfg.repeats, 3);
        cfg.pairs /= 20;
        cfg.roundtrips /= 20;
        cfg.ring_passes /= 20;
        cfg.items /= 20;
        cfg.multi_ops /= 20;
        cfg.starve_rounds = 5;
        cfg.starve_cap_ms = 200;
        cfg.load_waits = 10;
        cfg.load_roundtrips /= 10;
    }
    if (cfg.json) {
        json_out = std::fopen(cfg.json, "w");
        if (!json_out) {
            std::perror(cfg.json);
            return 1;
        }
        std::fprintf(json_out, "{\"tool\": \"qsem_bench\", \"qsem\": \"%s\", \"backend\": \"%s\", "
                     "\"qt\": \"%s\", \"cpus\": %u, \"repeats\": %d, \"quick\": %s, "
                     "\"benchmarks\": [", QSEM_VERSION_STRING, qsem_backend(), qVersion(),
                     std::thread::hardware_concurrency(), cfg.repeats,
                     cfg.quick ? "true" : "false");
    }
    std::printf("qsem %s (%s back end) vs glibc sem_t, std::counting_semaphore, Qt %s "
                "QSemaphore; %u CPUs%s\n", QSEM_VERSION_STRING, qsem_backend(), qVersion(),
                std::thread::hardware_concurrency(), cfg.quick ? "; --quick run" : "");
    std::printf("sem_t and std::counting_semaphore: acquire(n) is n single waits\n");

    run("uncontended", "uncontended acquire(1)+release(1)", "ns per pair", 1, 0,
        impls<Uncontended>(0));
    run("pingpong", "two-thread ping-pong", "ns per round trip", 1, 0, impls<Pingpong>(0));
    char title[160];
    for (int k : { 2, 4, 8 }) {
        std::snprintf(title, sizeof title, "token ring of %d threads", k);
        run("ring", title, "ns per handoff", 1, k, impls<Ring>(k));
    }
    for (int k : { 1, 2, 4, 8 }) {
        std::snprintf(title, sizeof title, "producer/consumer, %d thread%s per side", k,
                      k > 1 ? "s" : "");
        run("prodcons", title, "ns per item", 1, k, impls<Prodcons>(k));
    }
    for (int k : { 1, 2, 4, 8 }) {
        std::snprintf(title, sizeof title, "producer/consumer, %d thread%s per side, "
                      "std::counting_semaphore's two counters in one cache line or in two", k,
                      k > 1 ? "s" : "");
        run("packed", title, "ns per item", 1, k, packed_impls(k));
    }
    run("multi3", "acquire(3)/release(3), 4 threads on 9 tokens", "ns per pair", 1, 0,
        impls<Multi3>(0));
    std::snprintf(title, sizeof title,
                  "worst acquire(4) wait among 4 acquire(1)/release(1) churners, %d rounds "
                  "(> : cut off at %d ms)", cfg.starve_rounds, cfg.starve_cap_ms);
    run("starve", title, "ms", 1e6, 0, impls<Starve>(0));
    std::snprintf(title, sizeof title, "CPU-bound load (%d busy threads): two-thread ping-pong",
                  kBusy);
    run("pingpong_load", title, "ns per round trip", 1, kBusy, impls<PingpongLoad>(0));
    std::snprintf(title, sizeof title, "CPU-bound load (%d busy threads): lateness of a 2 ms "
                  "timed wait, median of %d", kBusy, cfg.load_waits);
    run("timedwait_load", title, "us late", 1, kBusy, impls<TimedwaitLoad>(0));
    std::snprintf(title, sizeof title, "CPU-bound load (%d busy threads): release to return of "
                  "a sleeping acquire, median of %d", kBusy, cfg.load_waits);
    run("wake_load", title, "us", 1, kBusy, impls<WakeLoad>(0));
    if (json_out) {
        std::fprintf(json_out, "\n]}\n");
        std::fclose(json_out);
    }
    return 0;
}
