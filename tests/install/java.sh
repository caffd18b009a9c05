#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Java: `mvn install` the org.qsem:qsem artifact into an empty local Maven
# repository, then compile and run a program of its own against the
# installed jar alone, with no -Djava.library.path: the JNI library must
# come out of the jar.
#
# Needs QSEM_SOURCE_DIR and QSEM_BUILD_DIR (a CMake build with
# -DQSEM_BUILD_JAVA=ON, for the native library).  Maven fetches its plugins
# into the empty repository from Maven Central.
set -euo pipefail

: "${QSEM_SOURCE_DIR:?QSEM_SOURCE_DIR must name the repository}"
: "${QSEM_BUILD_DIR:?QSEM_BUILD_DIR must name a CMake build with QSEM_BUILD_JAVA=ON}"
native="$QSEM_BUILD_DIR/bindings/swig/java"
[ -f "$native/libqsemjni.so" ] || { echo "java.sh: no $native/libqsemjni.so (QSEM_BUILD_JAVA=OFF?)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
repo="$tmp/repo"
version=$(sed -n 's|^  <version>\(.*\)</version>|\1|p' "$QSEM_SOURCE_DIR/bindings/java/pom.xml" | head -n 1)

# Maven's log is shown only if it fails.
mvn -B -q -f "$QSEM_SOURCE_DIR/bindings/java/pom.xml" -Dmaven.repo.local="$repo" \
    -Dqsem.native.dir="$native" -Dqsem.build.dir="$tmp/build" -DskipTests install \
    > "$tmp/mvn.log" 2>&1 || { cat "$tmp/mvn.log" >&2; echo "java.sh: mvn install failed" >&2; exit 1; }

app="$tmp/app"
mkdir -p "$app/src/main/java/demo"
cat > "$app/src/main/java/demo/Main.java" <<'JAVA'
package demo;

import java.util.concurrent.TimeUnit;
import org.qsem.ClosedException;
import org.qsem.Semaphore;

public class Main {
    public static void main(String[] args) throws Exception {
        Semaphore s = new Semaphore(2, true);
        s.acquire(2);
        if (s.tryAcquire(1, 10, TimeUnit.MILLISECONDS)) {
            throw new AssertionError("acquired past the count");
        }
        Thread waiter = new Thread(() -> {
            try {
                s.acquire();
                throw new AssertionError("acquired from a closed semaphore");
            } catch (ClosedException expected) {
                // woken by close()
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        waiter.start();
        while (!s.hasQueuedThreads()) {
            Thread.sleep(1);
        }
        s.close();
        waiter.join();
        s.release(2);
        System.out.println("qsem " + Semaphore.VERSION + " ok: " + s.availablePermits() + " permits");
        s.delete();
    }
}
JAVA
jar="$repo/org/qsem/qsem/$version/qsem-$version.jar"
[ -f "$jar" ] || { echo "java.sh: $jar was not installed" >&2; exit 1; }
javac -d "$app/classes" -cp "$jar" "$app/src/main/java/demo/Main.java"
out=$(java -cp "$jar:$app/classes" demo.Main)
echo "$out"
[ "$out" = "qsem $version ok: 2 permits" ] || { echo "java.sh: unexpected output" >&2; exit 1; }
