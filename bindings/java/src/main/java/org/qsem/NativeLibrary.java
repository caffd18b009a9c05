// SPDX-License-Identifier: MIT
package org.qsem;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads the JNI library, once, before the first native call.
 *
 * <p>In order: the file named by the system property {@code org.qsem.library}
 * (a build of one's own, or a sanitizer build); the copy carried in the jar
 * for this platform, extracted to a temporary file because the JVM loads
 * libraries from files only; {@code System.loadLibrary("qsemjni")} through
 * {@code java.library.path} (a build tree).
 */
final class NativeLibrary {
    private static final String NAME = "qsemjni";

    private NativeLibrary() {
    }

    static synchronized void load() {
        String path = System.getProperty("org.qsem.library");
        if (path != null) {
            System.load(path);
            return;
        }
        String resource = "native/" + platform() + "/" + System.mapLibraryName(NAME);
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                System.loadLibrary(NAME);
                return;
            }
            Path tmp = Files.createTempFile("libqsemjni", ".so");
            try {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                System.load(tmp.toAbsolutePath().toString());
            } finally {
                // Mapped by now: the name can go, so no file outlives the JVM.
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("qsem: cannot extract " + resource + ": " + e);
            err.initCause(e);
            throw err;
        }
    }

    /** "linux-x86_64" and the like, as the jar's resource directories are named. */
    static String platform() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            os = "linux";
        } else if (os.startsWith("mac")) {
            os = "macos";
        }
        if (arch.equals("amd64") || arch.equals("x86_64")) {
            arch = "x86_64";
        } else if (arch.equals("arm64")) {
            arch = "aarch64";
        }
        return os + "-" + arch;
    }
}
