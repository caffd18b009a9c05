// SPDX-License-Identifier: MIT
// org.qsem.Semaphore against java.util.concurrent.Semaphore, in one run,
// in interleaved rounds (each implementation once per round), with the
// ratio qsem / j.u.c taken within each round.
//
//   make java
//   java -cp build-java/bindings/swig/java/maven/qsem-0.1.0.jar \
//        bench/SwigBench.java [--quick] [--repeats N] [--json FILE]
//
// (or -cp BUILD/bindings/swig/java/classes -Djava.library.path=BUILD/bindings/swig/java,
// as bench/report.py runs it)
//
// pair     uncontended tryAcquire() + release(): ns per pair
// handoff  two threads pass one token back and forth with acquire(): ns per handoff
//
// Each round runs a warm-up first, so that both sides are compiled by the
// JIT before they are timed.

import java.io.FileWriter;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

public class SwigBench {
    interface Sem {
        void acquire() throws InterruptedException;
        boolean tryAcquire();
        void release();
    }

    interface Maker {
        Sem make(int initial);
    }

    static final String[] NAMES = { "org.qsem.Semaphore", "java.util.concurrent.Semaphore" };

    static Maker maker(int i) {
        if (i == 0) {
            return initial -> {
                org.qsem.Semaphore s = new org.qsem.Semaphore(initial);
                return new Sem() {
                    public void acquire() throws InterruptedException { s.acquire(); }
                    public boolean tryAcquire() { return s.tryAcquire(); }
                    public void release() { s.release(); }
                };
            };
        }
        return initial -> {
            java.util.concurrent.Semaphore s = new java.util.concurrent.Semaphore(initial);
            return new Sem() {
                public void acquire() throws InterruptedException { s.acquire(); }
                public boolean tryAcquire() { return s.tryAcquire(); }
                public void release() { s.release(); }
            };
        };
    }

    static double pair(Maker m, long n) throws InterruptedException {
        Sem s = m.make(1);
        long t0 = System.nanoTime();
        for (long i = 0; i < n; i++) {
            if (!s.tryAcquire()) {
                throw new IllegalStateException("uncontended tryAcquire failed");
            }
            s.release();
        }
        return (double) (System.nanoTime() - t0) / n;
    }

    static double handoff(Maker m, long n) throws InterruptedException {
        Sem ping = m.make(0), pong = m.make(0);
        Thread other = new Thread(() -> {
            try {
                for (long i = 0; i < n; i++) {
                    ping.acquire();
                    pong.release();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        other.start();
        long t0 = System.nanoTime();
        for (long i = 0; i < n; i++) {
            ping.release();
            pong.acquire();
        }
        long ns = System.nanoTime() - t0;
        other.join();
        return (double) ns / (2 * n);
    }

    interface Work {
        double run(Maker m, long n) throws InterruptedException;
    }

    public static void main(String[] args) throws Exception {
        boolean quick = false;
        int repeats = 7;
        String json = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--quick")) {
                quick = true;
            } else if (args[i].equals("--repeats") && i + 1 < args.length) {
                repeats = Math.max(1, Integer.parseInt(args[++i]));
            } else if (args[i].equals("--json") && i + 1 < args.length) {
                json = args[++i];
            } else {
                System.err.println("usage: SwigBench [--quick] [--repeats N] [--json FILE]");
                System.exit(2);
            }
        }
        if (quick)
            repeats = Math.min(repeats, 3);
        long pairs = quick ? 200_000 : 5_000_000, handoffs = quick ? 2_000 : 40_000;
        Maker[] makers = { maker(0), maker(1) };
        String[] ids = { "pair", "handoff" };
        String[] units = { "ns per pair", "ns per handoff" };
        Work[] works = { SwigBench::pair, SwigBench::handoff };
        long[] sizes = { pairs, handoffs };

        StringBuilder out = new StringBuilder();
        out.append("{\"tool\": \"swig_java\", \"java\": \"").append(System.getProperty("java.version"))
           .append("\", \"repeats\": ").append(repeats).append(", \"quick\": ").append(quick)
           .append(", \"benchmarks\": [");
        System.out.printf("org.qsem.Semaphore vs java.util.concurrent.Semaphore, Java %s, "
                          + "median of %d [min, max]%n", System.getProperty("java.version"), repeats);
        for (int w = 0; w < works.length; w++) {
            List<List<Double>> samples = new ArrayList<>();
            for (int k = 0; k < makers.length; k++)
                samples.add(new ArrayList<>());
            for (int k = 0; k < makers.length; k++)
                works[w].run(makers[k], sizes[w] / 10); // JIT warm-up
            for (int r = 0; r < repeats; r++)
                for (int j = 0; j < makers.length; j++) {
                    int k = (j + r) % makers.length;
                    samples.get(k).add(works[w].run(makers[k], sizes[w]));
                }
            System.out.printf("%n%s, %s%n", ids[w], units[w]);
            out.append(w > 0 ? "," : "").append("\n  {\"id\": \"").append(ids[w])
               .append("\", \"unit\": \"").append(units[w]).append("\", \"param\": 0, \"impls\": [");
            for (int k = 0; k < makers.length; k++) {
                double[] v = samples.get(k).stream().mapToDouble(Double::doubleValue).sorted().toArray();
                double med = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
                System.out.printf("  %-32s %10.1f  [%10.1f, %10.1f]%n", NAMES[k], med, v[0], v[v.length - 1]);
                out.append(k > 0 ? "," : "").append("\n    {\"name\": \"").append(NAMES[k])
                   .append("\", \"capped\": false, \"samples\": [");
                List<Double> raw = samples.get(k);
                for (int i = 0; i < raw.size(); i++)
                    out.append(i > 0 ? ", " : "").append(String.format("%.3f", raw.get(i)));
                out.append("]}");
            }
            double[] ratio = new double[repeats];
            for (int r = 0; r < repeats; r++)
                ratio[r] = samples.get(0).get(r) / samples.get(1).get(r);
            Arrays.sort(ratio);
            double rmed = ratio.length % 2 == 1 ? ratio[ratio.length / 2]
                        : (ratio[ratio.length / 2 - 1] + ratio[ratio.length / 2]) / 2;
            System.out.printf("  %-32s %10.2fx [%9.2fx, %9.2fx]%n", "ratio qsem / j.u.c (per round)",
                              rmed, ratio[0], ratio[ratio.length - 1]);
            out.append("]}");
        }
        out.append("\n]}\n");
        if (json != null) {
            try (FileWriter f = new FileWriter(json)) {
                f.write(out.toString());
            } catch (IOException e) {
                System.err.println("SwigBench: " + e.getMessage());
                System.exit(1);
            }
        }
    }
}
